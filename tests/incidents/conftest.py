# The same store, clock and service fixtures as the store tests.
from tests.store.conftest import T0, clock, db_url, store, svc  # noqa: F401
