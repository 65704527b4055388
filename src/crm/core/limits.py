"""How much one request may ask of the server: the bounds every face shares.

Each bound is far above what a form, an ad platform's webhook or a sync job sends, and
low enough that the worst request allowed holds SQLite's single write lock for a few
seconds at most (the figures are in ``docs/adr/0007-input-bounds.md``). Input past a
bound is a validation error naming the field, never a 500 and never minutes of work.
"""

from __future__ import annotations

#: How many levels of objects and arrays a JSON body may nest, the body itself counting
#: as one (so unmapped intake values and identity metadata get 31). The JSON encoder
#: stops at 254 levels; no integration needs more than a handful.
MAX_JSON_DEPTH = 32

#: The longest text a ``contains``/``starts``/``ends`` filter may look for (characters).
#: SQLite refuses LIKE patterns past 50,000 bytes; four-byte characters, each escaped,
#: stay well below that.
MAX_FILTER_TEXT = 1000

#: Tags one record may be given in one request (intake's ``tags``).
MAX_TAGS_PER_ITEM = 50

#: Tags one request may create (the first mention of a name creates it).
MAX_NEW_TAGS = 500

#: Notes one record may be given in one request (intake's ``note``/``notes``).
MAX_NOTES_PER_ITEM = 20

#: Identities one record may be given in one request (intake's email/phone keys).
MAX_IDENTITIES_PER_ITEM = 20

#: Tags put on records, notes added and identities given by one request, counted over
#: all its records (a bulk intake of 10,000 leads with 50 tags each would otherwise link
#: 500,000 tags, about 45 s of SQLite's write lock).
MAX_ATTACHED_PER_REQUEST = 5_000

#: The longest text of a note, a case reply or a reply template (characters).
MAX_TEXT_BODY = 50_000
