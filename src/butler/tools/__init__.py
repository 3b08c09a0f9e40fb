"""Tools the butler can use: typed async functions whose JSON schema comes from the signature."""
