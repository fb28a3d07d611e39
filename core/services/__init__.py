"""The CRM's services. Each takes a SQLAlchemy session (one unit of work) and the acting user,
checks visibility, and raises core.errors on anything the user did wrong."""
