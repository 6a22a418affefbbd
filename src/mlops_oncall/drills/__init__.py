"""Tabletop drills: scenarios, the inject scheduler, scoring and the fake ML system."""
