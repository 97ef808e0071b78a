"""Reference data a fresh database holds as soon as it is migrated (SPEC §3).

The migration inserts it through lightweight table definitions so that later model
changes never break an old revision; tests use the same function to reset the data.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

PAIR_NETWORKS = [
    ("apec", "Apec"),
    ("cap-emploi", "Cap emploi"),
    ("france-travail", "France Travail (anciennement Pôle emploi)"),
    ("missions-locales", "Missions locales"),
    ("avenir-actifs", "Avenir Actifs (opérateurs régionaux du CEP des actifs)"),
    ("fongecif-opacif", "Fongecif et Opacif (historique)"),
]
# Networks that no longer exist (SPEC §3: `fongecif-opacif`, history; the Fongecif gave way
# to Transitions Pro in 2020): kept for their members and the analyses, closed to newcomers.
HISTORICAL_NETWORKS = frozenset({"fongecif-opacif"})

HORS_PAIR_ORGANISATIONS = [
    ("carif-oref", "Carif-Oref"),
    ("centre-inffo", "Centre Inffo"),
    ("uodc", "UODC"),
    ("dgefp", "DGEFP"),
    ("france-competences", "France compétences"),
    ("region", "Région"),
    ("expert", "Expert·e"),
]

REGIONS = [
    ("auvergne-rhone-alpes", "Auvergne-Rhône-Alpes"),
    ("bourgogne-franche-comte", "Bourgogne-Franche-Comté"),
    ("bretagne", "Bretagne"),
    ("centre-val-de-loire", "Centre-Val de Loire"),
    ("corse", "Corse"),
    ("grand-est", "Grand Est"),
    ("hauts-de-france", "Hauts-de-France"),
    ("ile-de-france", "Île-de-France"),
    ("normandie", "Normandie"),
    ("nouvelle-aquitaine", "Nouvelle-Aquitaine"),
    ("occitanie", "Occitanie"),
    ("pays-de-la-loire", "Pays de la Loire"),
    ("provence-alpes-cote-d-azur", "Provence-Alpes-Côte d'Azur"),
    ("guadeloupe", "Guadeloupe"),
    ("martinique", "Martinique"),
    ("guyane", "Guyane"),
    ("la-reunion", "La Réunion"),
    ("mayotte", "Mayotte"),
]

GROUPS = ["Groupe pilote"]

TAGS = [
    ("cpf", "CPF"),
    ("vae", "VAE"),
    ("bilan-de-competences", "Bilan de compétences"),
    ("transition-professionnelle", "Transition professionnelle"),
    ("reconversion", "Reconversion"),
    ("creation-entreprise", "Création d'entreprise"),
    ("handicap", "Handicap"),
    ("jeunes", "Jeunes"),
    ("seniors", "Seniors"),
    ("demandeurs-emploi", "Demandeurs d'emploi"),
    ("salaries", "Salariés"),
    ("financement", "Financement"),
    ("formation", "Formation"),
    ("outils-numeriques", "Outils numériques"),
    ("orientation", "Orientation"),
]

# Rubriques (and their thèmes) where the asker may mark « réponse retenue » (issue 11).
SOLUTION_THEMES = [
    "bienvenue",
    "echanges-de-pratiques",
    "se-professionnaliser",
    "echanges-hors-pairs",
]

# (slug, name, description, flags, children); flags: open, staff, group, read_only, staff_topics
CATEGORY_TREE: list[tuple[str, str, str, dict, list[tuple[str, str, str]]]] = [
    (
        "accueil",
        "Accueil",
        "Ce qu'est la ComCEP et comment la rejoindre.",
        {"staff_topics_only": True},
        [],
    ),
    (
        "bienvenue",
        "Bienvenue aux nouveaux conseillers",
        "Premiers pas dans la communauté.",
        {},
        [
            (
                "vos-questions",
                "Vos questions pour vous familiariser avec le forum",
                "Posez ici toutes vos questions sur le fonctionnement du forum.",
            ),
        ],
    ),
    (
        "echanges-de-pratiques",
        "Les échanges de pratiques",
        "Les cas rencontrés en entretien, du premier accueil au suivi du parcours.",
        {},
        [
            (
                "accueil-du-beneficiaire",
                "L'accueil du bénéficiaire",
                "Premier contact, information, orientation vers le bon interlocuteur.",
            ),
            (
                "premier-entretien",
                "Le premier entretien",
                "Préparer, conduire et conclure le premier entretien de conseil.",
            ),
            (
                "apres-le-premier-entretien",
                "Après le premier entretien",
                "Construire le projet, les entretiens suivants, le plan d'action.",
            ),
            (
                "monter-un-dossier",
                "Aider à monter un dossier : les bonnes structures, le financement…",
                "Dispositifs, financeurs, interlocuteurs et pièces à réunir.",
            ),
            (
                "suivi-du-parcours",
                "Le suivi du parcours du bénéficiaire",
                "Accompagner dans la durée, faire le point, clôturer.",
            ),
        ],
    ),
    (
        "se-professionnaliser",
        "Se professionnaliser dans le métier",
        "Formations, lectures, analyse de pratiques.",
        {},
        [
            (
                "comment-je-me-professionnalise",
                "Comment je me professionnalise",
                "Partagez vos parcours de professionnalisation.",
            ),
        ],
    ),
    (
        "outils-du-cep",
        "Les outils du CEP",
        "Ressources, liens et outils partagés.",
        {},
        [
            (
                "liens-utiles",
                "Les liens utiles",
                "Sites, guides et références utiles au quotidien.",
            ),
            (
                "je-partage-mes-outils",
                "Je partage mes outils",
                "Grilles, questionnaires, supports d'animation : partagez-les.",
            ),
        ],
    ),
    (
        "ameliorations-du-forum",
        "Les améliorations du forum",
        "Faire évoluer la communauté avec vous.",
        {},
        [
            ("vos-attentes", "Vos attentes et vos besoins", "Ce que vous attendez du forum."),
            (
                "trucs-et-astuces",
                "Trucs et astuces pour utiliser le forum",
                "Les fonctions utiles et les bons réflexes.",
            ),
        ],
    ),
    (
        "evenements-en-regions",
        "Les événements en régions",
        "Ce qui se passe près de chez vous.",
        {},
        [
            (
                "evenements-et-rencontres",
                "Événements et rencontres, colloques",
                "Rencontres, journées d'études, colloques.",
            ),
            (
                "outils-et-structures",
                "Outils et structures, sur le web, les applis",
                "Les ressources des territoires.",
            ),
            ("la-comcep-on-en-parle", "La ComCEP, on en parle…", "La communauté dans vos réseaux."),
            ("petites-annonces", "Petites annonces", "Offres, recherches, échanges."),
        ],
    ),
    ("divers", "Divers", "Tout ce qui ne trouve pas sa place ailleurs.", {}, []),
    (
        "echanges-hors-pairs",
        "Échanges hors pairs",
        "L'espace commun des conseillers et de leurs partenaires.",
        {"open_to_hors_pairs": True},
        [
            ("echanges", "Échanges", "Questions et échanges avec les partenaires de la ComCEP."),
            (
                "propositions-d-outils",
                "Propositions d'outils",
                "Les partenaires proposent des outils et des ressources.",
            ),
        ],
    ),
    (
        "coin-des-animateurs",
        "Le coin des animateurs",
        "Réservé à l'équipe d'animation.",
        {"staff_only": True},
        [],
    ),
    (
        "groupe-pilote",
        "Groupe pilote",
        "Espace réservé au groupe pilote.",
        {"group": "Groupe pilote"},
        [
            ("consultations", "Consultations", "Les consultations du groupe pilote."),
        ],
    ),
]

_networks = sa.table(
    "networks",
    sa.column("id", sa.Integer),
    sa.column("code", sa.String),
    sa.column("name", sa.String),
    sa.column("kind", sa.String),
    sa.column("position", sa.Integer),
    sa.column("active", sa.Boolean),
)
_regions = sa.table(
    "regions",
    sa.column("code", sa.String),
    sa.column("name", sa.String),
    sa.column("position", sa.Integer),
)
_groups = sa.table("groups", sa.column("id", sa.Integer), sa.column("name", sa.String))
_categories = sa.table(
    "categories",
    sa.column("id", sa.Integer),
    sa.column("parent_id", sa.Integer),
    sa.column("slug", sa.String),
    sa.column("name", sa.String),
    sa.column("description", sa.Text),
    sa.column("position", sa.Integer),
    sa.column("open_to_hors_pairs", sa.Boolean),
    sa.column("staff_only", sa.Boolean),
    sa.column("group_id", sa.Integer),
    sa.column("read_only", sa.Boolean),
    sa.column("staff_topics_only", sa.Boolean),
    sa.column("topic_count", sa.Integer),
    sa.column("post_count", sa.Integer),
)


def seed_reference_data(conn: Connection) -> None:
    """Insert networks, regions, groups and the default tree into empty tables."""
    rows = [
        {
            "code": c,
            "name": n,
            "kind": "pair",
            "position": i,
            "active": c not in HISTORICAL_NETWORKS,
        }
        for i, (c, n) in enumerate(PAIR_NETWORKS)
    ] + [
        {"code": c, "name": n, "kind": "hors_pair", "position": 100 + i, "active": True}
        for i, (c, n) in enumerate(HORS_PAIR_ORGANISATIONS)
    ]
    conn.execute(_networks.insert(), rows)
    conn.execute(
        _regions.insert(),
        [{"code": c, "name": n, "position": i} for i, (c, n) in enumerate(REGIONS)],
    )
    conn.execute(_groups.insert(), [{"name": g} for g in GROUPS])
    group_ids = dict(conn.execute(sa.select(_groups.c.name, _groups.c.id)).all())
    for position, (slug, name, description, flags, children) in enumerate(CATEGORY_TREE):
        common = {
            "open_to_hors_pairs": flags.get("open_to_hors_pairs", False),
            "staff_only": flags.get("staff_only", False),
            "group_id": group_ids.get(flags.get("group", "")),
            "read_only": False,
            "topic_count": 0,
            "post_count": 0,
        }
        theme_id = conn.execute(
            _categories.insert().returning(_categories.c.id),
            {
                **common,
                "parent_id": None,
                "slug": slug,
                "name": name,
                "description": description,
                "position": position,
                "staff_topics_only": flags.get("staff_topics_only", False),
            },
        ).scalar_one()
        for child_position, (child_slug, child_name, child_description) in enumerate(children):
            conn.execute(
                _categories.insert(),
                {
                    **common,
                    "parent_id": theme_id,
                    "slug": child_slug,
                    "name": child_name,
                    "description": child_description,
                    "position": child_position,
                    "staff_topics_only": False,
                },
            )


_tags = sa.table(
    "tags",
    sa.column("slug", sa.String),
    sa.column("name", sa.String),
    sa.column("retired", sa.Boolean),
)


def seed_knowledge_data(conn: Connection) -> None:
    """Mots-clés and the rubriques that accept solutions (the migration of issue 11)."""
    conn.execute(_tags.insert(), [{"slug": s, "name": n, "retired": False} for s, n in TAGS])
    categories = sa.table(
        "categories",
        sa.column("id", sa.Integer),
        sa.column("parent_id", sa.Integer),
        sa.column("slug", sa.String),
        sa.column("accepts_solutions", sa.Boolean),
    )
    theme_ids = [
        row[0]
        for row in conn.execute(
            sa.select(categories.c.id).where(categories.c.slug.in_(SOLUTION_THEMES))
        )
    ]
    conn.execute(
        categories.update()
        .where(sa.or_(categories.c.id.in_(theme_ids), categories.c.parent_id.in_(theme_ids)))
        .values(accepts_solutions=True)
    )


def seed_all(conn: Connection) -> None:
    """Everything a fresh database holds after `comcep db upgrade` (tests reset with it)."""
    seed_reference_data(conn)
    seed_knowledge_data(conn)
