"""One canonical team-code set (Retrosheet's, with the Marlins as MIA) and maps onto it."""

import re
from collections.abc import Iterable, Mapping
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

# Every SBRO code found in the 2010-2019 workbooks, plus the codes team_code_map.csv lists,
# plus the unambiguous codes sportsbooks and later archives use (CHW, KC/KCR, TB/TBR, SD/SDP,
# SF, WSH/WSN, AZ/ARZ, ATH for the Athletics from 2025) and Retrosheet's own codes.
# LOS is the Dodgers and LAA the Angels: team_code_map.csv has them the other way round, but
# in every season LOS/LAA home dates coincide with Retrosheet's LAN/ANA home dates.
# Ambiguous codes (LA, CHI, NY) are left out on purpose: infer_unknown_sbro_codes reads them
# from the file when its other codes leave one team for them.
SBRO_TO_CANONICAL: Mapping[str, str] = MappingProxyType(
    {
        "AZ": "ARI",
        "ARZ": "ARI",
        "ANA": "ANA",
        "ATH": "OAK",
        "CHA": "CHA",
        "CHN": "CHN",
        "CHW": "CHA",
        "KC": "KCA",
        "KCA": "KCA",
        "KCR": "KCA",
        "LAN": "LAN",
        "NYA": "NYA",
        "NYN": "NYN",
        "SD": "SDN",
        "SDN": "SDN",
        "SDP": "SDN",
        "SF": "SFN",
        "SFN": "SFN",
        "SLN": "SLN",
        "TB": "TBA",
        "TBA": "TBA",
        "TBR": "TBA",
        "WSH": "WAS",
        "WSN": "WAS",
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

# Retrosheet codes are canonical except the Marlins' pre-2012 code and the Athletics' code
# from 2025 (ATH, after leaving Oakland).
RETROSHEET_TO_CANONICAL: Mapping[str, str] = MappingProxyType(
    {**{code: code for code in CANONICAL_TEAMS}, "FLO": "MIA", "ATH": "OAK"}
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


_TEAM_CODE = re.compile(r"^[A-Z]{2,4}$")


def _team_initials() -> dict[str, frozenset[str]]:
    """Canonical code -> first letters of its codes and of the words of its names."""
    initials: dict[str, set[str]] = {team: {team[0]} for team in CANONICAL_TEAMS}
    for code, team in SBRO_TO_CANONICAL.items():
        initials[team].add(code[0])
    for name, team in TEAM_NAME_TO_CANONICAL.items():
        initials[team].update(word[0].upper() for word in name.split())
    return {team: frozenset(letters) for team, letters in initials.items()}


TEAM_INITIALS: Mapping[str, frozenset[str]] = MappingProxyType(_team_initials())


def infer_unknown_sbro_codes(codes: Iterable[str]) -> dict[str, str]:
    """Unknown SBRO code -> canonical team, read from the codes of one whole file.

    When the codes SBRO_TO_CANONICAL does not know are as many as the canonical teams no
    known code of the file covers, and they pair one-to-one with those teams in exactly one
    way (a code's first letter is an initial of the team's codes or name), that pairing is
    returned. Anything else (more codes than teams, an initial shared by two teams, ...) is
    ambiguous: nothing is inferred and the unknown codes stay unknown.
    """
    seen = {code.strip().upper() for code in codes if code and code.strip()}
    unknown = sorted(
        code for code in seen if _TEAM_CODE.match(code) and not canonical_from_sbro(code)
    )
    covered = {team for code in seen if (team := canonical_from_sbro(code)) is not None}
    uncovered = CANONICAL_TEAMS - covered
    if not unknown or len(unknown) != len(uncovered):
        return {}
    candidates = {
        code: {team for team in uncovered if code[0] in TEAM_INITIALS[team]} for code in unknown
    }
    inferred: dict[str, str] = {}
    # Peel off forced pairs; if none is forced, every side has two options: not unique.
    while candidates:
        forced = next(
            ((code, next(iter(teams))) for code, teams in candidates.items() if len(teams) == 1),
            None,
        )
        if forced is None:
            for team in sorted(uncovered - set(inferred.values())):
                takers = [code for code, teams in candidates.items() if team in teams]
                if len(takers) == 1:
                    forced = (takers[0], team)
                    break
        if forced is None:
            return {}
        code, team = forced
        inferred[code] = team
        del candidates[code]
        for teams in candidates.values():
            teams.discard(team)
        if any(not teams for teams in candidates.values()):
            return {}
    return inferred


# The MLB Stats API's team ids (``teams.{away,home}.team.id`` of its schedule) and its team
# abbreviations, for the 30 major-league clubs.
MLB_TEAM_ID_TO_CANONICAL: Mapping[int, str] = MappingProxyType(
    {
        108: "ANA",  # Los Angeles Angels (LAA)
        109: "ARI",  # Arizona Diamondbacks (AZ)
        110: "BAL",  # Baltimore Orioles
        111: "BOS",  # Boston Red Sox
        112: "CHN",  # Chicago Cubs (CHC)
        113: "CIN",  # Cincinnati Reds
        114: "CLE",  # Cleveland Guardians
        115: "COL",  # Colorado Rockies
        116: "DET",  # Detroit Tigers
        117: "HOU",  # Houston Astros
        118: "KCA",  # Kansas City Royals (KC)
        119: "LAN",  # Los Angeles Dodgers (LAD)
        120: "WAS",  # Washington Nationals (WSH)
        121: "NYN",  # New York Mets (NYM)
        133: "OAK",  # Athletics (OAK, ATH from 2025)
        134: "PIT",  # Pittsburgh Pirates
        135: "SDN",  # San Diego Padres (SD)
        136: "SEA",  # Seattle Mariners
        137: "SFN",  # San Francisco Giants (SF)
        138: "SLN",  # St. Louis Cardinals (STL)
        139: "TBA",  # Tampa Bay Rays (TB)
        140: "TEX",  # Texas Rangers
        141: "TOR",  # Toronto Blue Jays
        142: "MIN",  # Minnesota Twins
        143: "PHI",  # Philadelphia Phillies
        144: "ATL",  # Atlanta Braves
        145: "CHA",  # Chicago White Sox (CWS)
        146: "MIA",  # Miami Marlins
        147: "NYA",  # New York Yankees (NYY)
        158: "MIL",  # Milwaukee Brewers
    }
)

# The abbreviations the MLB Stats API gives its teams (``team.abbreviation``).
MLB_ABBREVIATION_TO_CANONICAL: Mapping[str, str] = MappingProxyType(
    {
        "LAA": "ANA",
        "AZ": "ARI",
        "ARI": "ARI",
        "BAL": "BAL",
        "BOS": "BOS",
        "CHC": "CHN",
        "CIN": "CIN",
        "CLE": "CLE",
        "COL": "COL",
        "DET": "DET",
        "HOU": "HOU",
        "KC": "KCA",
        "LAD": "LAN",
        "WSH": "WAS",
        "NYM": "NYN",
        "OAK": "OAK",
        "ATH": "OAK",
        "PIT": "PIT",
        "SD": "SDN",
        "SEA": "SEA",
        "SF": "SFN",
        "STL": "SLN",
        "TB": "TBA",
        "TEX": "TEX",
        "TOR": "TOR",
        "MIN": "MIN",
        "PHI": "PHI",
        "ATL": "ATL",
        "CWS": "CHA",
        "MIA": "MIA",
        "NYY": "NYA",
        "MIL": "MIL",
    }
)


def canonical_from_mlb_team(
    team_id: object, abbreviation: object = None, name: object = None
) -> str | None:
    """The canonical code of an MLB Stats API team: by id, else abbreviation, else full name.

    A known id decides; an unknown id (e.g. an All-Star or minor-league team) is not rescued
    by its name, so that a team the table does not list is never mistaken for a club.
    """
    if isinstance(team_id, int) and not isinstance(team_id, bool):
        return MLB_TEAM_ID_TO_CANONICAL.get(team_id)
    if isinstance(abbreviation, str) and abbreviation.strip():
        return MLB_ABBREVIATION_TO_CANONICAL.get(abbreviation.strip().upper())
    return canonical_from_team_name(name) if isinstance(name, str) else None
