"""``python -m crm``: the same as the ``crm`` command."""

from crm.cli.main import app

app(prog_name="crm")
