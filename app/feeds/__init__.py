"""Live feeds: the day's schedule, probable pitchers and finals, and bookmakers' odds."""
