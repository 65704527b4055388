"""The CRM core: domain rules and storage access, with no knowledge of HTTP."""
