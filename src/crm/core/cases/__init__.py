"""Cases: replies on records of the standard ``case`` object, and reply templates."""
