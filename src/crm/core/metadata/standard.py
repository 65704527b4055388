"""The standard object types and fields seeded into every new workspace.

They are metadata like any custom object: the record engine has no special code for them.
Keys follow the snake_case the Flexie examples use. Each object's ``categories`` label the
groups its fields name, in the order clients show them (an object with a pipeline also gets
the category of its stage field).
"""

from __future__ import annotations

from typing import Any

F = dict[str, Any]


def _f(key: str, label: str, type_: str = "text", group: str = "general", **extra: Any) -> F:
    return {"key": key, "label": label, "type": type_, "group": group, **extra}


_STATUS_CHOICES = [
    "New",
    "Contacted",
    "Qualify",
    "Qualified",
    "Nurture",
    "Customer",
    "Unqualified",
]
_SOURCE_CHOICES = [
    "Website",
    "Referral",
    "Email",
    "Phone",
    "Event",
    "Advertising",
    "Partner",
    "Meeting",
    "Social",
    "Import",
    "Other",
]
#: A case's status as its customer sees it, and as the team works it.
PUBLIC_STATUSES = ["New Opened", "Open", "In Process", "Pending", "Resolved", "Closed"]
INTERNAL_STATUSES = ["New", "Open", "Assigned", "In progress", "Waiting", "Done", "Closed"]

_ONLY_GENERAL = {"general": "General"}
_PERSON_CATEGORIES = {"general": "General", "contact": "Contact details", "address": "Address"}

TASK_CATEGORIES = ["Call", "Email", "Meeting", "To-do", "Follow-up", "Other"]

_PERSON_FIELDS: list[F] = [
    _f("first_name", "First name", searchable=True),
    _f("last_name", "Last name", searchable=True),
    _f("title", "Title"),
    _f("email", "Email", "email", "contact"),
    _f("phone", "Phone", "phone", "contact"),
    _f("mobile", "Mobile", "phone", "contact"),
    _f("company", "Company", searchable=True),
    _f("website", "Website", "url", "contact"),
    _f("address", "Address", group="address"),
    _f("city", "City", group="address"),
    _f("state", "State", group="address"),
    _f("zip", "Postal code", group="address"),
    _f("country", "Country", group="address"),
    _f("status", "Status", "select", options={"choices": _STATUS_CHOICES}),
    _f("source", "Source", "select", options={"choices": _SOURCE_CHOICES}),
    _f("description", "Description", "long_text"),
]

STANDARD_OBJECTS: list[dict[str, Any]] = [
    {
        "key": "contact",
        "categories": _PERSON_CATEGORIES,
        "label": "Contact",
        "plural_label": "Contacts",
        "display_fields": ["first_name", "last_name", "email"],
        "fields": _PERSON_FIELDS,
    },
    {
        "key": "company",
        "categories": {"general": "General", "financial": "Financial", "billing": "Billing"},
        "label": "Company",
        "plural_label": "Companies",
        "display_fields": ["name"],
        "fields": [
            _f("name", "Name", required=True, searchable=True),
            _f("status", "Status", "select", options={"choices": _STATUS_CHOICES}),
            _f("website", "Website", "url"),
            _f("email", "Email", "email"),
            _f("phone", "Phone", "phone"),
            _f("industry", "Industry"),
            _f("annual_revenue", "Annual revenue", "currency", "financial"),
            _f("employees", "Employees", "number"),
            _f("vat_number", "VAT number", group="financial"),
            _f("billing_address", "Billing address", group="billing"),
            _f("billing_city", "Billing city", group="billing"),
            _f("billing_state", "Billing state", group="billing"),
            _f("billing_zip", "Billing postal code", group="billing"),
            _f("billing_country", "Billing country", group="billing"),
            _f("description", "Description", "long_text"),
        ],
    },
    {
        "key": "lead",
        "categories": _PERSON_CATEGORIES,
        "label": "Lead",
        "plural_label": "Leads",
        "display_fields": ["first_name", "last_name", "email"],
        "fields": _PERSON_FIELDS,
        "pipeline": {
            "key": "stage",
            "label": "Lead pipeline",
            "stages": [
                {"name": "New", "kind": "open", "probability": 10, "system_key": "new"},
                {"name": "Contacted", "kind": "open", "probability": 20},
                {"name": "Qualified", "kind": "open", "probability": 50, "system_key": "qualified"},
                {"name": "Unqualified", "kind": "lost", "probability": 0, "system_key": "lost"},
                {"name": "Converted", "kind": "won", "probability": 100, "system_key": "won"},
            ],
        },
    },
    {
        "key": "deal",
        "categories": _ONLY_GENERAL,
        "label": "Deal",
        "plural_label": "Deals",
        "display_fields": ["name"],
        "fields": [
            _f("name", "Name", required=True, searchable=True),
            _f("amount", "Amount", "currency"),
            _f("close_date", "Close date", "date"),
            _f("probability", "Probability", "number"),
            _f("company", "Company", "relation", options={"object": "company"}),
            _f("contact", "Contact", "relation", options={"object": "contact"}),
            _f("source", "Source", "select", options={"choices": _SOURCE_CHOICES}),
            _f("description", "Description", "long_text"),
        ],
        "pipeline": {
            "key": "stage",
            "label": "Sales pipeline",
            "stages": [
                {"name": "Qualification", "kind": "open", "probability": 10},
                {"name": "Proposal", "kind": "open", "probability": 40},
                {"name": "Negotiation", "kind": "open", "probability": 70},
                {"name": "Won", "kind": "won", "probability": 100, "system_key": "won"},
                {"name": "Lost", "kind": "lost", "probability": 0, "system_key": "lost"},
            ],
        },
    },
    {
        "key": "case",
        "categories": _ONLY_GENERAL,
        "label": "Case",
        "plural_label": "Cases",
        "display_fields": ["identifier", "title"],
        "fields": [
            _f("title", "Title", required=True, searchable=True),
            _f(
                "identifier",
                "Identifier",
                unique=True,
                searchable=True,
                options={"autonumber": {"prefix": "REF-", "start": 1001}},
            ),
            _f(
                "source",
                "Source",
                "select",
                options={"choices": ["Email", "Phone", "Web", "Chat", "Other"]},
            ),
            _f("category", "Category"),
            _f(
                "priority",
                "Priority",
                "select",
                options={"choices": ["Low", "Medium", "High", "Urgent"]},
                default="Medium",
            ),
            _f(
                "public_status",
                "Public status",
                "select",
                options={"choices": PUBLIC_STATUSES},
                default="Open",
            ),
            _f(
                "internal_status",
                "Internal status",
                "select",
                options={"choices": INTERNAL_STATUSES},
                default="New",
            ),
            _f("contact", "Contact", "relation", options={"object": "contact"}),
            _f("company", "Company", "relation", options={"object": "company"}),
            _f("description", "Description", "long_text"),
        ],
    },
    {
        "key": "task",
        "categories": _ONLY_GENERAL,
        "label": "Task",
        "plural_label": "Tasks",
        "display_fields": ["task"],
        "fields": [
            _f("task", "Task", required=True, searchable=True),
            _f("due_date", "Due", "datetime"),
            _f("is_completed", "Completed", "boolean", default=False),
            _f("completed_at", "Completed at", "datetime"),
            _f("association_type", "Related object"),
            _f("association_id", "Related record"),
            _f(
                "reminder_type",
                "Reminder",
                "select",
                options={"choices": ["none", "email", "popup"]},
            ),
            _f("remind_minutes", "Remind minutes before", "number"),
            _f("description", "Description", "long_text"),
            _f("category", "Category", "select", options={"choices": TASK_CATEGORIES}),
            _f("completed_by", "Completed by", "user"),
        ],
    },
]
