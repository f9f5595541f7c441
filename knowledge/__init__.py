"""Knowledge capture: tasks, structured notes, four-eyes release, coverage, handover, import."""
