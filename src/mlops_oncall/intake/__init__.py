"""The intake daemon (`mlops-oncall serve`): an aiohttp web server that takes alerts and
change events and writes them to the store through the Session's services."""
