"""Records of every object type: one engine for contacts, deals, cases and custom objects."""
