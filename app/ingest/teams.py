"""One canonical team-code set (Retrosheet's, with the Marlins as MIA) and maps onto it."""

from collections.abc import Mapping
from types import MappingProxyType

CANONICAL_TEAMS: frozenset[str] = frozenset(
    [
        "ANA",
        "ARI",
        "ATL",
        "BAL",
        "BOS",
        "CHA",
        "CHN",
        "CIN",
        "CLE",
        "COL",
        "DET",
        "HOU",
        "KCA",
        "LAN",
        "MIA",
        "MIL",
        "MIN",
        "NYA",
        "NYN",
        "OAK",
        "PHI",
        "PIT",
        "SDN",
        "SEA",
        "SFN",
        "SLN",
        "TBA",
        "TEX",
        "TOR",
        "WAS",
    ]
)

# Every SBRO code found in the 2010-2019 workbooks, plus the codes team_code_map.csv lists.
# LOS is the Dodgers and LAA the Angels: team_code_map.csv has them the other way round, but
# in every season LOS/LAA home dates coincide with Retrosheet's LAN/ANA home dates.
SBRO_TO_CANONICAL: Mapping[str, str] = MappingProxyType(
    {
        "ARI": "ARI",
        "ATL": "ATL",
        "BAL": "BAL",
        "BOS": "BOS",
        "BRS": "BOS",
        "CHC": "CHN",
        "CUB": "CHN",
        "CWS": "CHA",
        "CIN": "CIN",
        "CLE": "CLE",
        "COL": "COL",
        "DET": "DET",
        "FLA": "MIA",
        "FLO": "MIA",
        "MIA": "MIA",
        "HOU": "HOU",
        "KAN": "KCA",
        "LAA": "ANA",
        "LAD": "LAN",
        "LOS": "LAN",
        "MIL": "MIL",
        "MIN": "MIN",
        "NYM": "NYN",
        "NYY": "NYA",
        "OAK": "OAK",
        "PHI": "PHI",
        "PIT": "PIT",
        "SDG": "SDN",
        "SEA": "SEA",
        "SFG": "SFN",
        "SFO": "SFN",
        "STL": "SLN",
        "TAM": "TBA",
        "TEX": "TEX",
        "TOR": "TOR",
        "WAS": "WAS",
    }
)

# Retrosheet codes are canonical except the Marlins' pre-2012 code.
RETROSHEET_TO_CANONICAL: Mapping[str, str] = MappingProxyType(
    {**{code: code for code in CANONICAL_TEAMS}, "FLO": "MIA"}
)

# Where this map knowingly disagrees with sbro/team_code_map.csv: SBRO code -> (csv, ours).
TEAM_CODE_MAP_CORRECTIONS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "LOS": ("ANA", "LAN"),  # LOS is the Dodgers (matches Retrosheet LAN home dates)
        "LAA": ("LAN", "ANA"),  # LAA is the Angels (matches Retrosheet ANA home dates)
        "FLO": ("FLO", "MIA"),  # one canonical code for the Marlins across the 2012 rename
    }
)


def canonical_from_sbro(code: str | None) -> str | None:
    """The canonical code of an SBRO team code, or None when the code is unknown."""
    if code is None:
        return None
    return SBRO_TO_CANONICAL.get(code.strip().upper())


def canonical_from_retrosheet(code: str | None) -> str | None:
    """The canonical code of a Retrosheet team code, or None when the code is unknown."""
    if code is None:
        return None
    return RETROSHEET_TO_CANONICAL.get(code.strip().upper())


# Full team names as line-history files (Pinnacle) write them, with the names each franchise
# used since 2005, so that other seasons of the same format map without a code change.
TEAM_NAME_TO_CANONICAL: Mapping[str, str] = MappingProxyType(
    {
        "arizona diamondbacks": "ARI",
        "atlanta braves": "ATL",
        "baltimore orioles": "BAL",
        "boston red sox": "BOS",
        "chicago cubs": "CHN",
        "chicago white sox": "CHA",
        "cincinnati reds": "CIN",
        "cleveland indians": "CLE",
        "cleveland guardians": "CLE",
        "colorado rockies": "COL",
        "detroit tigers": "DET",
        "houston astros": "HOU",
        "kansas city royals": "KCA",
        "los angeles angels of anaheim": "ANA",
        "los angeles angels": "ANA",
        "anaheim angels": "ANA",
        "los angeles dodgers": "LAN",
        "florida marlins": "MIA",
        "miami marlins": "MIA",
        "milwaukee brewers": "MIL",
        "minnesota twins": "MIN",
        "new york mets": "NYN",
        "new york yankees": "NYA",
        "oakland athletics": "OAK",
        "athletics": "OAK",
        "philadelphia phillies": "PHI",
        "pittsburgh pirates": "PIT",
        "san diego padres": "SDN",
        "seattle mariners": "SEA",
        "san francisco giants": "SFN",
        "st. louis cardinals": "SLN",
        "st louis cardinals": "SLN",
        "tampa bay rays": "TBA",
        "tampa bay devil rays": "TBA",
        "texas rangers": "TEX",
        "toronto blue jays": "TOR",
        "washington nationals": "WAS",
    }
)


def canonical_from_team_name(name: str | None) -> str | None:
    """The canonical code of a full team name ('St. Louis Cardinals'), or None if unknown."""
    if name is None:
        return None
    return TEAM_NAME_TO_CANONICAL.get(" ".join(name.split()).lower())


def canonical_from_any_code(code: str | None) -> str | None:
    """A canonical code from a Retrosheet or SBRO code (Retrosheet's reading wins)."""
    return canonical_from_retrosheet(code) or canonical_from_sbro(code)
