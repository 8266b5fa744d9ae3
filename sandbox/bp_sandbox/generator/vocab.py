"""Word lists for generated names: deliberately mixed ASCII, accented, CJK and emoji text.

Clients must round-trip all of it unchanged (UTF-8 end to end), so the lists are part of the contract.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

PRODUCT_ADJECTIVES: tuple[str, ...] = (
    "Organic",
    "Classic",
    "Everyday",
    "Über-Soft",
    "Crème",
    "Rustic",
    "Nordic",
    "Café",
    "Premium",
    "Vintage",
    "Señorita",
    "Matcha 抹茶",
    "Sakura 桜",
    "Rocket 🚀",
    "Fiesta 🎉",
    "Alpine",
    "Coastal",
    "Smørrebrød",
    "Piña",
    "Heritage",
    "Urban",
    "Déjà Vu",
    "Kyōto 京都",
    "Bamboo",
    "Midnight",
    "Sunny ☀️",
    "Forêt",
    "Crystal",
)
PRODUCT_NOUNS: tuple[tuple[str, str], ...] = (  # (name, SKU stem)
    ("Tee", "TEE"),
    ("Hoodie", "HOOD"),
    ("Mug", "MUG"),
    ("Candle", "CNDL"),
    ("Notebook", "NOTE"),
    ("Socks", "SOCK"),
    ("Tote Bag", "TOTE"),
    ("Water Bottle", "BOTL"),
    ("Cutting Board", "BORD"),
    ("Tea Tin", "TEA"),
    ("Blanket", "BLNK"),
    ("Backpack", "BPCK"),
    ("Apron", "APRN"),
    ("Cap", "CAP"),
    ("Scarf", "SCRF"),
    ("Desk Lamp", "LAMP"),
    ("Planter", "PLNT"),
    ("Coaster Set", "CSTR"),
    ("Journal", "JRNL"),
    ("Umbrella", "UMBR"),
    ("Gloves", "GLOV"),
    ("Espresso Cups", "ESPR"),
    ("Phone Case", "CASE"),
    ("Yoga Mat", "YOGA"),
)
SIZES: tuple[str, ...] = ("S", "M", "L", "XL")
COLOURS: tuple[str, ...] = ("Red", "Navy", "Black", "Sage", "Ivory")
SIZED_NOUNS = frozenset({"TEE", "HOOD", "SOCK", "CAP", "GLOV", "APRN", "SCRF"})

FIRST_NAMES: tuple[str, ...] = (
    "James",
    "Mary",
    "José",
    "Zoë",
    "Björn",
    "Ana",
    "Chloé",
    "Søren",
    "Mohammed",
    "Priya",
    "Liam",
    "Olivia",
    "Noah",
    "Emma",
    "Łukasz",
    "Inés",
    "François",
    "Aoife",
    "Mateo",
    "Sofía",
    "Wei",
    "Yuki",
    "Hannah",
    "Ethan",
    "Ava",
    "Lucas",
    "Mia",
    "Jürgen",
    "Renée",
    "Oğuz",
)
LAST_NAMES: tuple[str, ...] = (
    "Smith",
    "Johnson",
    "García",
    "Müller",
    "O'Brien",
    "Nguyễn",
    "Kowalski",
    "Rossi",
    "Dubois",
    "Jensen",
    "Patel",
    "Williams",
    "Brown",
    "Hernández",
    "Schröder",
    "Åberg",
    "Silva",
    "Martin",
    "Lee",
    "Walker",
    "Young",
    "Allen",
    "Núñez",
    "Fitzgerald",
    "Hughes",
    "Okafor",
    "Ivanova",
    "Castillo",
    "Wright",
    "Lopez",
)
CJK_NAMES: tuple[tuple[str, str], ...] = (
    ("伟", "王"),
    ("芳", "李"),
    ("花子", "佐藤"),
    ("太郎", "田中"),
    ("민준", "김"),
)
COMPANY_STEMS: tuple[str, ...] = (
    "Northwind Traders",
    "Acme Outfitters",
    "Café Müller",
    "Sakura Trading 株式会社",
    "Gourmet & Co.",
    "Blue Harbor Supply",
    "Lumière Boutique",
    "Prairie Goods",
    "Hôtel du Lac",
    "Summit Wholesale",
    "Kiwi & Koala Imports",
    "Maison Étoile",
    "Great Lakes Gifts",
    "Tienda La Peña",
    "Fjord Living",
    "Ocean Drive Retail",
    "Old Town Mercantile",
    "Zen 禅 Spa",
)
COMPANY_SUFFIXES: tuple[str, ...] = ("LLC", "Inc.", "GmbH", "Ltd.", "S.A.", "Co.", "")
SUPPLIER_NAMES: tuple[str, ...] = (
    "Shenzhen Bright Manufacturing",
    "Porto Ceramics Lda.",
    "Midwest Paper Mills",
    "Anatolia Textiles",
    "Kyoto Tea Growers 京都",
    "Pacific Bottling",
    "Nordic Wool Cooperative",
    "Guadalajara Leather",
)
STREETS: tuple[str, ...] = (
    "Main St",
    "Oak Avenue",
    "Maple Drive",
    "Cedar Lane",
    "Elm Street",
    "Lakeshore Blvd",
    "Rue de la Paix",
    "Calle Mayor",
    "Sunset Blvd",
    "Market Street",
    "Peachtree Rd",
    "Michigan Ave",
)
US_CITIES: tuple[tuple[str, str, str], ...] = (  # (city, state, zip prefix)
    ("Chicago", "IL", "606"),
    ("Austin", "TX", "787"),
    ("Seattle", "WA", "981"),
    ("Denver", "CO", "802"),
    ("Brooklyn", "NY", "112"),
    ("Portland", "OR", "972"),
    ("Atlanta", "GA", "303"),
    ("Miami", "FL", "331"),
    ("San José", "CA", "951"),
    ("Madison", "WI", "537"),
    ("Nashville", "TN", "372"),
    ("Boston", "MA", "021"),
)
FOREIGN_ADDRESSES: tuple[tuple[str, str, str, str], ...] = (  # (city, region, postal code, ISO)
    ("Toronto", "ON", "M5V 2T6", "CA"),
    ("Montréal", "QC", "H2X 1Y4", "CA"),
    ("Sheffield", "South Yorkshire", "S1 4RT", "GB"),
    ("München", "Bayern", "80331", "DE"),
    ("Lyon", "Auvergne-Rhône-Alpes", "69002", "FR"),
    ("東京都", "Tokyo", "100-0005", "JP"),
    ("Ciudad de México", "CDMX", "06600", "MX"),
)
EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "mail.example.net", "inbox.example.org", "example.co.uk")

# ISO2 -> (Brightpearl countryId, English name, ISO3). Ids follow the recordings where known (GB=222).
COUNTRIES: dict[str, tuple[int, str, str]] = {
    "US": (223, "United States", "USA"),
    "CA": (38, "Canada", "CAN"),
    "GB": (222, "United Kingdom", "GBR"),
    "DE": (81, "Germany", "DEU"),
    "FR": (73, "France", "FRA"),
    "JP": (107, "Japan", "JPN"),
    "MX": (138, "Mexico", "MEX"),
}


@lru_cache(maxsize=4096)
def ascii_fold(text: str) -> str:
    """'Zoë Åberg' -> 'zoeaberg'; characters without an ASCII base (CJK, emoji) are dropped."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum()).lower()
