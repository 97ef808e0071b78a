"""Demo members and French forum content loaded by `comcep seed-demo` to show a lively community."""

from __future__ import annotations

DEMO_PASSWORD = "comcep-demo-2026"  # noqa: S105 (public demo password, documented)

DEMO_MEMBERS: list[dict] = [
    {
        "key": "claire",
        "email": "claire.martin@francetravail.example",
        "name": "Claire Martin",
        "statut": "pair",
        "network": "france-travail",
        "region": "bretagne",
        "roles": [],
        "groups": [],
        "organisation": "Agence France Travail de Rennes Nord",
        "description": "Conseillère France Travail (pair)",
    },
    {
        "key": "karim",
        "email": "karim.benali@apec.example",
        "name": "Karim Benali",
        "statut": "pair",
        "network": "apec",
        "region": "ile-de-france",
        "roles": [],
        "groups": [],
        "organisation": "Centre Apec de Paris",
        "description": "Consultant Apec (pair)",
    },
    {
        "key": "sophie",
        "email": "sophie.leroy@missionslocales.example",
        "name": "Sophie Leroy",
        "statut": "pair",
        "network": "missions-locales",
        "region": "occitanie",
        "roles": [],
        "groups": [],
        "organisation": "Mission locale de Toulouse",
        "description": "Conseillère Mission locale (pair)",
    },
    {
        "key": "julien",
        "email": "julien.moreau@capemploi.example",
        "name": "Julien Moreau",
        "statut": "pair",
        "network": "cap-emploi",
        "region": "hauts-de-france",
        "roles": [],
        "groups": [],
        "organisation": "Cap emploi du Nord, antenne de Lille",
        "description": "Conseiller Cap emploi (pair)",
    },
    {
        "key": "nadia",
        "email": "nadia.haddad@avenir-actifs.example",
        "name": "Nadia Haddad",
        "statut": "pair",
        "network": "avenir-actifs",
        "region": "auvergne-rhone-alpes",
        "roles": [],
        "groups": ["Groupe pilote"],
        "organisation": "Avenir Actifs Auvergne-Rhône-Alpes, site de Lyon",
        "description": "Conseillère Avenir Actifs (pair, Groupe pilote)",
    },
    {
        "key": "isabelle",
        "email": "isabelle.durand@comcep.example",
        "name": "Isabelle Durand",
        "statut": "pair",
        "network": "france-travail",
        "region": "nouvelle-aquitaine",
        "roles": ["animation"],
        "groups": ["Groupe pilote"],
        "organisation": "Agence France Travail de Bordeaux Bastide",
        "description": "Animatrice",
    },
    {
        "key": "marc",
        "email": "marc.petit@apec.example",
        "name": "Marc Petit",
        "statut": "pair",
        "network": "apec",
        "region": "pays-de-la-loire",
        "roles": ["validation"],
        "groups": [],
        "organisation": "Centre Apec de Nantes",
        "description": "Référent Apec",
    },
    {
        "key": "helene",
        "email": "helene.garnier@carif-oref.example",
        "name": "Hélène Garnier",
        "statut": "hors_pair",
        "network": "carif-oref",
        "region": "grand-est",
        "roles": [],
        "groups": [],
        "organisation": "Carif-Oref Grand Est",
        "description": "Partenaire Carif-Oref (hors pair)",
    },
    {
        "key": "paul",
        "email": "paul.lambert@dgefp.example",
        "name": "Paul Lambert",
        "statut": "hors_pair",
        "network": "dgefp",
        "region": "ile-de-france",
        "roles": ["comite"],
        "groups": [],
        "organisation": "DGEFP, mission du conseil en évolution professionnelle",
        "description": "Comité opérationnel",
    },
    {
        "key": "thomas",
        "email": "admin@comcep.example",
        "name": "Thomas Roux",
        "statut": "hors_pair",
        "network": "uodc",
        "region": "ile-de-france",
        "roles": ["admin"],
        "groups": [],
        "organisation": "UODC, hébergement de la plateforme ComCEP",
        "description": "Administrateur",
    },
]

DEMO_TOPICS: list[dict] = [
    # ------------------------------------------------------------------ Accueil
    {
        "category": "accueil",
        "title": "Charte de la communauté : à lire avant votre premier message",
        "author": "isabelle",
        "days_ago": 120,
        "pinned": True,
        "tags": [],
        "body": (
            "Bienvenue sur la ComCEP ! Cet espace est réservé aux conseillères et conseillers "
            "en évolution professionnelle de tous les réseaux. Quelques règles simples nous "
            "permettent d'échanger en confiance :\n\n"
            "- **Anonymisez toujours les situations** : ni nom, ni date de naissance, ni "
            "employeur identifiable. « Une bénéficiaire de 45 ans, aide-soignante » suffit.\n"
            "- Restez bienveillants : on vient ici pour apprendre les uns des autres, pas pour "
            "juger une pratique.\n"
            "- Pas de démarchage ni de publicité pour un organisme de formation.\n"
            "- Les rubriques des pairs ne sont lisibles que par les conseillers ; seule la "
            "rubrique « Échanges hors pairs » est ouverte aux partenaires.\n\n"
            "En cas de doute, signalez le message ou écrivez-moi directement."
        ),
        "replies": [
            {
                "author": "claire",
                "hours_after": 5,
                "body": (
                    "Charte claire et courte, parfait. Je l'ai transmise aux collègues de "
                    "l'agence qui viennent de s'inscrire."
                ),
            },
            {
                "author": "julien",
                "hours_after": 31,
                "body": (
                    "Merci pour ce rappel. Le point sur l'anonymisation est essentiel chez "
                    "nous : certains handicaps rendent une personne très vite reconnaissable."
                ),
            },
        ],
    },
    {
        "category": "accueil",
        "title": "Qui peut rejoindre la ComCEP et comment s'inscrire ?",
        "author": "isabelle",
        "days_ago": 118,
        "pinned": True,
        "tags": [],
        "body": (
            "La ComCEP est ouverte, sur la base du volontariat, à toute personne qui délivre "
            "du conseil en évolution professionnelle au sein d'un réseau opérateur : Apec, "
            "Cap emploi, France Travail, Missions locales, opérateurs Avenir Actifs.\n\n"
            "Pour vous inscrire :\n\n"
            "1. remplissez le formulaire d'inscription avec votre adresse professionnelle ;\n"
            "2. confirmez votre adresse grâce au lien reçu par courriel ;\n"
            "3. le ou la référente de votre réseau valide votre demande.\n\n"
            "Les responsables de structure ne sont pas admis comme pairs : l'espace des pairs "
            "est celui des praticiens. Les partenaires (Carif-Oref, comité opérationnel…) "
            "rejoignent la communauté sur invitation."
        ),
        "replies": [
            {
                "author": "sophie",
                "hours_after": 20,
                "body": (
                    "Une collègue en alternance fait des premiers accueils CEP à la Mission "
                    "locale : peut-elle s'inscrire comme pair ?"
                ),
            },
            {
                "author": "isabelle",
                "hours_after": 26,
                "body": (
                    "Oui, dès lors qu'elle exerce le conseil en évolution professionnelle. "
                    "Qu'elle précise sa situation dans le champ « motivation », la référente "
                    "de votre réseau fera le reste."
                ),
            },
            {
                "author": "marc",
                "hours_after": 50,
                "body": (
                    "Côté Apec, je valide les demandes en deux jours ouvrés en général. "
                    "Pensez bien à utiliser votre adresse professionnelle, sinon je dois "
                    "vérifier à la main."
                ),
            },
        ],
    },
    # ---------------------------------------------- Bienvenue aux nouveaux conseillers
    {
        "category": "vos-questions",
        "title": "Comment retrouver les sujets auxquels j'ai déjà répondu ?",
        "author": "nadia",
        "days_ago": 95,
        "pinned": False,
        "tags": [],
        "body": (
            "Je suis inscrite depuis peu et je participe à plusieurs discussions. "
            "Existe-t-il un moyen de retrouver rapidement les sujets où j'ai écrit, sans "
            "tout reparcourir rubrique par rubrique ?"
        ),
        "replies": [
            {
                "author": "isabelle",
                "hours_after": 3,
                "body": (
                    "Bonjour Nadia ! Votre page de profil liste vos derniers messages. Vous "
                    "pouvez aussi utiliser « Sujets actifs » et « Messages non lus » en haut "
                    "de l'index : les sujets où l'on vous a répondu y remontent."
                ),
            },
            {
                "author": "nadia",
                "hours_after": 6,
                "body": "Parfait, c'est exactement ce qu'il me fallait. Merci !",
            },
        ],
    },
    {
        "category": "vos-questions",
        "title": "Peut-on modifier un message après l'avoir publié ?",
        "author": "julien",
        "days_ago": 60,
        "pinned": False,
        "tags": [],
        "body": (
            "J'ai laissé passer une information trop précise sur la situation d'un "
            "bénéficiaire dans mon dernier message. Est-ce que je peux le corriger moi-même "
            "ou faut-il passer par l'animatrice ?"
        ),
        "replies": [
            {
                "author": "isabelle",
                "hours_after": 2,
                "body": (
                    "Vous pouvez modifier vos propres messages avec le bouton « Modifier ». "
                    "L'historique des versions reste consultable par l'équipe d'animation : "
                    "si la première version contenait une information sensible, signalez-la "
                    "et je m'en occupe."
                ),
            },
            {
                "author": "claire",
                "hours_after": 40,
                "body": (
                    "Bon réflexe de le signaler ! Pour ma part, je rédige désormais mes cas "
                    "dans l'aperçu avant de publier, ça évite ce genre d'oubli."
                ),
            },
        ],
    },
    # ------------------------------------------------ Les échanges de pratiques
    {
        "category": "accueil-du-beneficiaire",
        "title": "Accueillir un jeune qui arrive sans rendez-vous et sans demande précise",
        "author": "sophie",
        "days_ago": 88,
        "pinned": False,
        "tags": ["jeunes", "orientation"],
        "body": (
            "Cette semaine, un jeune de 19 ans s'est présenté à l'accueil, envoyé par sa "
            "mère, sans rendez-vous. Il a quitté le lycée professionnel en cours d'année et "
            "dit simplement : « je veux travailler, n'importe quoi ».\n\n"
            "Comment faites-vous pour transformer ce premier contact en une vraie demande, "
            "sans le brusquer ni le renvoyer vers un rendez-vous trois semaines plus tard ?"
        ),
        "replies": [
            {
                "author": "claire",
                "hours_after": 9,
                "body": (
                    "À l'agence, on garde un créneau court le jour même : dix minutes pour "
                    "comprendre ce qu'il sait faire, ce qu'il aime, et fixer un rendez-vous "
                    "rapproché. Le fait de repartir avec une date change beaucoup de choses."
                ),
            },
            {
                "author": "julien",
                "hours_after": 22,
                "body": (
                    "Je pose souvent la question : « qu'est-ce que tu ne veux surtout pas "
                    "faire ? ». Les jeunes répondent plus facilement et cela ouvre la "
                    "discussion sur ce qu'ils ont déjà essayé."
                ),
            },
            {
                "author": "isabelle",
                "hours_after": 70,
                "body": (
                    "Très bonnes pistes. Pour les jeunes sortis du lycée sans diplôme, "
                    "pensez aussi aux immersions en entreprise : ça donne du concret très vite."
                ),
            },
        ],
    },
    {
        "category": "accueil-du-beneficiaire",
        "title": "Bénéficiaire qui ne souhaite pas évoquer son handicap au premier accueil",
        "author": "julien",
        "days_ago": 45,
        "pinned": False,
        "tags": ["handicap"],
        "body": (
            "Un homme d'une cinquantaine d'années, orienté vers nous par son médecin du "
            "travail, refuse d'aborder sa santé lors du premier accueil. Il veut « parler "
            "métier, pas maladie ».\n\n"
            "Je respecte évidemment ce choix, mais les restrictions médicales vont peser sur "
            "tout son projet. Comment amenez-vous le sujet sans casser la relation ?"
        ),
        "replies": [
            {
                "author": "nadia",
                "hours_after": 60,
                "body": (
                    "Je commence par les conditions de travail plutôt que par la santé : "
                    "port de charges, station debout, horaires. La personne fait souvent le "
                    "lien elle-même, et c'est elle qui choisit ce qu'elle dit."
                ),
            },
            {
                "author": "sophie",
                "hours_after": 75,
                "body": (
                    "Même approche chez nous. J'ajoute que la **reconnaissance de la qualité "
                    "de travailleur handicapé** n'est jamais une obligation : la présenter "
                    "comme un outil parmi d'autres rassure."
                ),
            },
            {
                "author": "marc",
                "hours_after": 120,
                "body": (
                    "Côté cadres, le site https://www.monparcourshandicap.gouv.fr aide "
                    "beaucoup : la personne peut le consulter seule entre deux entretiens, "
                    "à son rythme."
                ),
            },
        ],
    },
    {
        "category": "premier-entretien",
        "title": "Combien de temps pour un premier entretien ?",
        "author": "claire",
        "days_ago": 110,
        "pinned": False,
        "tags": ["reconversion"],
        "body": (
            "Dans mon agence, les créneaux de premier entretien sont de 45 minutes. Pour une "
            "personne qui envisage de changer complètement de métier, je trouve cela très "
            "court : on a à peine le temps de comprendre son parcours.\n\n"
            "Quelle durée prévoyez-vous de votre côté ? Et est-ce que vous adaptez selon la "
            "situation de la personne ?"
        ),
        "replies": [
            {
                "author": "karim",
                "hours_after": 4,
                "body": (
                    "À l'Apec, nos premiers entretiens durent en général une heure à une heure "
                    "trente. C'est le temps qu'il faut pour que la personne déroule son "
                    "parcours et pour repérer ce qui la fait bouger."
                ),
            },
            {
                "author": "sophie",
                "hours_after": 19,
                "body": (
                    "Pour les jeunes, je préfère deux entretiens courts à un long : la "
                    "concentration chute vite et on avance mieux en deux temps."
                ),
            },
            {
                "author": "nadia",
                "hours_after": 35,
                "body": (
                    "En conseil en évolution professionnelle pour les actifs occupés, nous "
                    "comptons une heure et demie. Quand il s'agit d'une **reconversion**, je "
                    "préviens dès le départ qu'il y aura plusieurs rendez-vous : cela évite "
                    "de vouloir tout boucler le premier jour."
                ),
            },
            {
                "author": "julien",
                "hours_after": 80,
                "body": (
                    "Chez nous, c'est une heure, mais je garde la possibilité de prolonger "
                    "quand la situation de santé complique l'analyse."
                ),
            },
            {
                "author": "isabelle",
                "hours_after": 150,
                "body": (
                    "Ce sujet revient souvent ! Ce qui ressort de vos réponses : la durée "
                    "compte moins que le fait d'annoncer clairement le déroulé des entretiens "
                    "à venir. Merci à toutes et tous."
                ),
            },
        ],
    },
    {
        "category": "premier-entretien",
        "title": "Salarié envoyé par son employeur : comment poser le cadre de confidentialité ?",
        "author": "marc",
        "days_ago": 30,
        "pinned": False,
        "tags": ["salaries"],
        "body": (
            "Je reçois un cadre de 42 ans dont la DRH a « conseillé » de prendre rendez-vous "
            "avec nous. Il arrive méfiant et me demande d'emblée ce qui sera transmis à son "
            "entreprise.\n\n"
            "> Rien ne sort de ce bureau sans votre accord.\n\n"
            "C'est ce que je lui ai répondu, mais j'ai senti que ça ne suffisait pas. "
            "Comment présentez-vous le cadre au premier entretien dans ce cas ?"
        ),
        "replies": [
            {
                "author": "nadia",
                "hours_after": 18,
                "body": (
                    "Je rappelle que le CEP est gratuit, confidentiel et à l'initiative de la "
                    "personne, puis je lui montre la page https://www.mon-cep.org : voir "
                    "écrit noir sur blanc que l'employeur n'est pas informé rassure davantage "
                    "que ma parole."
                ),
            },
            {
                "author": "claire",
                "hours_after": 30,
                "body": (
                    "Je lui proposerais aussi de décider ensemble, en fin d'entretien, de ce "
                    "qu'il souhaite éventuellement partager avec sa DRH. Il reprend ainsi la "
                    "main."
                ),
            },
        ],
    },
    {
        "category": "apres-le-premier-entretien",
        "title": "Que remettez-vous au bénéficiaire à la fin du premier entretien ?",
        "author": "karim",
        "days_ago": 75,
        "pinned": False,
        "tags": ["orientation"],
        "body": (
            "Je cherche à harmoniser nos pratiques au centre. Après le premier entretien, "
            "certains collègues envoient un compte rendu écrit, d'autres seulement la date "
            "du prochain rendez-vous. Et vous ?"
        ),
        "replies": [
            {
                "author": "sophie",
                "hours_after": 50,
                "body": (
                    "J'envoie un court récapitulatif par courriel : trois points sur la "
                    "situation, les pistes évoquées et les actions à faire par chacun avant "
                    "le prochain rendez-vous."
                ),
            },
            {
                "author": "julien",
                "hours_after": 58,
                "body": (
                    "Même chose, avec en plus la liste des sites à consulter. Les "
                    "bénéficiaires apprécient d'avoir une trace, surtout quand beaucoup "
                    "d'informations ont été données."
                ),
            },
            {
                "author": "isabelle",
                "hours_after": 100,
                "body": (
                    "Claire partage justement une trame de synthèse dans « Je partage mes "
                    "outils » : elle peut servir de base commune."
                ),
            },
        ],
    },
    {
        "category": "apres-le-premier-entretien",
        "title": "Bénéficiaire qui ne revient pas après le premier entretien : relancer ou pas ?",
        "author": "nadia",
        "days_ago": 12,
        "pinned": False,
        "tags": ["salaries"],
        "body": (
            "Une salariée de 34 ans, comptable, était très motivée lors de notre premier "
            "échange. Elle n'est pas venue au deuxième rendez-vous et ne répond plus.\n\n"
            "Jusqu'où relancez-vous ? J'ai peur d'être intrusive, la démarche étant "
            "volontaire."
        ),
        "replies": [
            {
                "author": "claire",
                "hours_after": 30,
                "body": (
                    "Une relance écrite, bienveillante, qui laisse la porte ouverte : « vous "
                    "pouvez revenir vers moi quand vous le souhaitez ». Au-delà, je considère "
                    "que c'est son choix."
                ),
            },
            {
                "author": "karim",
                "hours_after": 54,
                "body": (
                    "D'accord avec Claire. Souvent, ces personnes reviennent quelques mois "
                    "plus tard, quand la situation au travail s'est dégradée ou débloquée."
                ),
            },
        ],
    },
    {
        "category": "monter-un-dossier",
        "title": "Démission-reconversion : que mettre dans le projet présenté à la commission ?",
        "author": "nadia",
        "days_ago": 100,
        "pinned": False,
        "tags": ["reconversion", "salaries", "financement"],
        "body": (
            "J'accompagne une salariée de 38 ans, assistante de gestion en CDI depuis sept "
            "ans, qui veut devenir électricienne. Elle envisage de démissionner pour suivre "
            "une formation qualifiante.\n\n"
            "Elle remplit la condition d'activité salariée. Pour obtenir l'attestation du "
            "**caractère réel et sérieux** du projet auprès de la commission paritaire "
            "régionale, quels éléments vous paraissent indispensables ?\n\n"
            "- enquêtes métier et immersion ?\n"
            "- devis et calendrier de formation ?\n"
            "- perspectives d'emploi sur le territoire ?"
        ),
        "replies": [
            {
                "author": "marc",
                "hours_after": 20,
                "body": (
                    "Les trois ! Dans les dossiers qui passent bien, on voit que la personne "
                    "a confronté son projet au terrain : une immersion, des échanges avec des "
                    "professionnels et des offres d'emploi repérées dans sa zone."
                ),
            },
            {
                "author": "claire",
                "hours_after": 28,
                "body": (
                    "Point de vigilance côté France Travail : une fois l'attestation obtenue, "
                    "elle dispose de six mois pour démissionner et s'inscrire. Ensuite, la "
                    "réalité des démarches est vérifiée. Mieux vaut qu'elle ait son calendrier "
                    "de formation en tête avant de poser sa démission."
                ),
            },
            {
                "author": "isabelle",
                "hours_after": 60,
                "body": (
                    "Les conditions détaillées sont rappelées sur "
                    "https://www.service-public.gouv.fr ; à relire avec la bénéficiaire avant "
                    "tout envoi."
                ),
            },
        ],
    },
    {
        "category": "monter-un-dossier",
        "title": "Formation d'aide-soignante : CPF insuffisant, quels cofinancements ?",
        "author": "claire",
        "days_ago": 70,
        "pinned": False,
        "tags": ["cpf", "financement", "demandeurs-emploi"],
        "body": (
            "Une demandeuse d'emploi de 45 ans, ancienne agente de service en EHPAD, a été "
            "admise en institut de formation d'aides-soignants. Son CPF ne couvre qu'une "
            "petite partie du coût de la formation.\n\n"
            "Quels cofinancements avez-vous déjà mobilisés pour ce type de parcours ? Je "
            "pense à la Région et à l'abondement France Travail, mais je ne sais pas dans "
            "quel ordre les solliciter."
        ),
        "replies": [
            {
                "author": "sophie",
                "hours_after": 6,
                "body": (
                    "En Occitanie, les formations sanitaires et sociales sont largement "
                    "financées par la Région pour les demandeurs d'emploi. Renseigne-toi "
                    "auprès de l'institut : ce sont souvent eux qui instruisent la demande."
                ),
            },
            {
                "author": "julien",
                "hours_after": 40,
                "body": (
                    "Vérifie aussi qu'elle ne peut pas prétendre à une prise en charge par "
                    "son ancien employeur ou l'opérateur de compétences du secteur si son "
                    "contrat s'est terminé récemment."
                ),
            },
            {
                "author": "nadia",
                "hours_after": 100,
                "body": (
                    "Et pour son CPF : en tant que demandeuse d'emploi, elle n'a pas à payer "
                    "la participation forfaitaire. Le détail est sur "
                    "https://www.moncompteformation.gouv.fr."
                ),
            },
        ],
    },
    {
        "category": "monter-un-dossier",
        "title": "Transition professionnelle pour un salarié reconnu travailleur handicapé",
        "author": "julien",
        "days_ago": 40,
        "pinned": False,
        "tags": ["transition-professionnelle", "handicap", "financement"],
        "body": (
            "J'accompagne un cariste de 52 ans, en CDI, reconnu travailleur handicapé suite "
            "à des troubles musculo-squelettiques. Il souhaite se former au métier de "
            "gestionnaire de stocks.\n\n"
            "Il n'a que dix mois d'ancienneté dans son entreprise actuelle. Un projet de "
            "transition professionnelle est-il envisageable malgré tout ?"
        ),
        "replies": [
            {
                "author": "nadia",
                "hours_after": 5,
                "body": (
                    "Oui : la condition d'ancienneté n'est pas exigée pour les bénéficiaires "
                    "de l'obligation d'emploi des travailleurs handicapés. Vérifie tout de "
                    "même auprès de Transitions Pro de ta région, et anticipe les délais de "
                    "dépôt, qui sont longs pour les formations de plusieurs mois."
                ),
            },
            {
                "author": "claire",
                "hours_after": 26,
                "body": (
                    "Pense aussi aux aides de l'Agefiph pour compléter, par exemple pour "
                    "l'aménagement du poste à la sortie de formation : "
                    "https://www.agefiph.fr"
                ),
            },
            {
                "author": "julien",
                "hours_after": 30,
                "body": "Merci à vous deux, je prépare le dossier avec lui la semaine prochaine.",
            },
        ],
    },
    {
        "category": "suivi-du-parcours",
        "title": "Jeune en contrat d'engagement qui veut arrêter sa formation après 3 semaines",
        "author": "sophie",
        "days_ago": 25,
        "pinned": False,
        "tags": ["jeunes", "formation"],
        "body": (
            "Une jeune de 20 ans, en contrat d'engagement jeune, a commencé une formation de "
            "vendeuse conseil. Au bout de trois semaines, elle veut tout arrêter : « ce n'est "
            "pas pour moi ».\n\n"
            "Je ne veux ni la forcer ni la laisser décrocher sans solution. Comment "
            "accompagnez-vous ce genre de moment ?"
        ),
        "replies": [
            {
                "author": "isabelle",
                "hours_after": 74,
                "body": (
                    "Je chercherais d'abord à savoir ce qui coince : le contenu, le groupe, "
                    "le rythme, les trajets ? Un abandon cache souvent une difficulté très "
                    "concrète qui se règle."
                ),
            },
            {
                "author": "julien",
                "hours_after": 90,
                "body": (
                    "Un entretien à trois avec le formateur peut aider. Chez nous, cela a "
                    "débloqué plusieurs situations où le jeune n'osait pas dire qu'il était "
                    "en difficulté sur un module."
                ),
            },
            {
                "author": "karim",
                "hours_after": 130,
                "body": (
                    "Et si elle arrête malgré tout, ce n'est pas un échec : elle sait "
                    "désormais ce qu'elle ne veut pas. C'est une information précieuse pour "
                    "la suite de l'accompagnement."
                ),
            },
        ],
    },
    {
        "category": "suivi-du-parcours",
        "title": "Cadre de 58 ans : le bilan de compétences est terminé, et maintenant ?",
        "author": "karim",
        "days_ago": 55,
        "pinned": False,
        "tags": ["seniors", "bilan-de-competences"],
        "body": (
            "Un cadre commercial de 58 ans sort d'un bilan de compétences qui a confirmé son "
            "envie de devenir formateur pour adultes. Il a une synthèse solide, mais se "
            "demande si cela vaut la peine « à quelques années de la retraite ».\n\n"
            "Comment l'aider à passer de la synthèse à un plan d'action réaliste ?"
        ),
        "replies": [
            {
                "author": "nadia",
                "hours_after": 70,
                "body": (
                    "Je l'inviterais à consulter son relevé de carrière sur "
                    "https://www.info-retraite.fr pour raisonner avec des dates précises. "
                    "Quatre ou cinq ans, c'est largement assez pour une seconde partie de "
                    "carrière."
                ),
            },
            {
                "author": "claire",
                "hours_after": 96,
                "body": (
                    "Il peut commencer par animer quelques sessions en parallèle de son "
                    "emploi, comme intervenant occasionnel. C'est une bonne manière de tester "
                    "le métier sans tout quitter."
                ),
            },
            {
                "author": "marc",
                "hours_after": 140,
                "body": (
                    "Nous avons eu plusieurs cas similaires à l'Apec. Son expérience "
                    "commerciale est un vrai atout pour les organismes qui forment à la vente."
                ),
            },
        ],
    },
    # -------------------------------------------- Se professionnaliser dans le métier
    {
        "category": "comment-je-me-professionnalise",
        "title": "Se former à l'approche orientée solutions : vos retours ?",
        "author": "sophie",
        "days_ago": 80,
        "pinned": False,
        "tags": ["formation"],
        "body": (
            "Ma structure me propose une formation de quatre jours à l'approche orientée "
            "solutions. Certains d'entre vous l'ont-ils suivie ?\n\n"
            "Qu'est-ce que cela a changé concrètement dans vos entretiens ?"
        ),
        "replies": [
            {
                "author": "karim",
                "hours_after": 100,
                "body": (
                    "Je l'ai suivie il y a deux ans. Ce qui m'est resté : les questions sur "
                    "les réussites passées, qui redonnent confiance aux personnes en perte "
                    "de repères. Je recommande."
                ),
            },
            {
                "author": "nadia",
                "hours_after": 160,
                "body": (
                    "Même retour positif. Le plus utile, pour moi, a été l'analyse de "
                    "pratique entre stagiaires pendant la formation."
                ),
            },
        ],
    },
    # -------------------------------------------------------- Les outils du CEP
    {
        "category": "liens-utiles",
        "title": "Ma sélection de sites officiels pour préparer un entretien",
        "author": "marc",
        "days_ago": 90,
        "pinned": False,
        "tags": ["outils-numeriques", "cpf", "vae"],
        "body": (
            "Voici les sites publics que j'ouvre le plus souvent en entretien :\n\n"
            "- https://www.moncompteformation.gouv.fr : droits CPF et offre de formation ;\n"
            "- https://vae.gouv.fr : démarche de validation des acquis de l'expérience ;\n"
            "- https://www.mon-cep.org : trouver l'opérateur CEP des actifs occupés ;\n"
            "- https://www.francecompetences.fr : répertoires des certifications.\n\n"
            "N'hésitez pas à compléter la liste !"
        ),
        "replies": [
            {
                "author": "sophie",
                "hours_after": 56,
                "body": (
                    "J'ajoute https://www.1jeune1solution.gouv.fr pour les moins de 26 ans : "
                    "offres, aides et contrats en alternance au même endroit."
                ),
            },
            {
                "author": "julien",
                "hours_after": 200,
                "body": "Et https://www.agefiph.fr pour les aides liées au handicap.",
            },
        ],
    },
    {
        "category": "je-partage-mes-outils",
        "title": "Grille d'auto-évaluation des compétences transférables (à adapter)",
        "author": "nadia",
        "days_ago": 65,
        "pinned": False,
        "tags": ["outils-numeriques", "reconversion"],
        "body": (
            "Je partage une grille que j'utilise avec les personnes en reconversion. Elle "
            "comporte trois colonnes :\n\n"
            "1. **ce que je fais** dans mon poste actuel ;\n"
            "2. **la compétence** que cela mobilise ;\n"
            "3. **où elle peut servir** dans le métier visé.\n\n"
            "La personne la remplit entre deux entretiens, puis nous la reprenons ensemble. "
            "Libre à vous de l'adapter."
        ),
        "replies": [
            {
                "author": "claire",
                "hours_after": 14,
                "body": (
                    "Très simple et efficace, merci ! Je vais l'essayer avec une bénéficiaire "
                    "ancienne secrétaire médicale qui se sous-estime beaucoup."
                ),
            },
            {
                "author": "karim",
                "hours_after": 20,
                "body": (
                    "J'ajouterais une quatrième colonne « exemple concret », utile pour "
                    "préparer ensuite les entretiens d'embauche."
                ),
            },
            {
                "author": "sophie",
                "hours_after": 230,
                "body": "Je l'ai simplifiée pour les jeunes et ça fonctionne bien aussi.",
            },
        ],
    },
    {
        "category": "je-partage-mes-outils",
        "title": "Trame de synthèse à remettre en fin d'accompagnement",
        "author": "claire",
        "days_ago": 8,
        "pinned": False,
        "tags": ["outils-numeriques"],
        "body": (
            "Voici la trame que nous utilisons à l'agence pour la synthèse écrite remise en "
            "fin d'accompagnement : situation de départ, projet retenu, étapes prévues avec "
            "leurs échéances, financements envisagés et personnes ressources.\n\n"
            "Vos remarques sont les bienvenues pour l'améliorer."
        ),
        "replies": [],
    },
    # -------------------------------------------------- Les améliorations du forum
    {
        "category": "vos-attentes",
        "title": "Pouvoir suivre un mot-clé et être prévenu des nouveaux sujets",
        "author": "karim",
        "days_ago": 50,
        "pinned": False,
        "tags": [],
        "body": (
            "Je m'intéresse surtout aux sujets sur les seniors et la reconversion. Serait-il "
            "possible d'être averti par courriel quand un nouveau sujet porte l'un de ces "
            "mots-clés ?"
        ),
        "replies": [
            {
                "author": "isabelle",
                "hours_after": 72,
                "body": (
                    "Bonne idée, je la transmets à l'équipe technique. En attendant, la page "
                    "de chaque mot-clé liste tous les sujets concernés, du plus récent au "
                    "plus ancien."
                ),
            },
            {
                "author": "julien",
                "hours_after": 96,
                "body": "Je plussoie, ce serait très pratique pour le mot-clé « handicap ».",
            },
        ],
    },
    {
        "category": "trucs-et-astuces",
        "title": "Astuce : citer un passage précis d'un message dans votre réponse",
        "author": "isabelle",
        "days_ago": 85,
        "pinned": False,
        "tags": [],
        "body": (
            "Pour répondre à un point précis d'un long message, utilisez le bouton "
            "« Citer » : le texte est repris avec le nom de son auteur. Vous pouvez aussi "
            "écrire vous-même une citation en commençant la ligne par un chevron :\n\n"
            "> Ceci est une citation.\n\n"
            "Pensez à ne garder que la phrase utile pour que le fil reste lisible."
        ),
        "replies": [],
    },
    # -------------------------------------------------- Les événements en régions
    {
        "category": "evenements-et-rencontres",
        "title": "Rencontre régionale des conseillers CEP à Lille le mois prochain",
        "author": "julien",
        "days_ago": 20,
        "pinned": False,
        "tags": ["formation"],
        "body": (
            "Une demi-journée d'échanges entre conseillers CEP des Hauts-de-France est "
            "organisée à Lille le mois prochain. Au programme :\n\n"
            "- l'accompagnement des salariés en reconversion ;\n"
            "- les nouvelles règles du CPF ;\n"
            "- un temps d'échange de pratiques en petits groupes.\n\n"
            "Qui compte venir ? Ce serait l'occasion de mettre des visages sur les noms !"
        ),
        "replies": [
            {
                "author": "karim",
                "hours_after": 64,
                "body": (
                    "Trop loin pour moi cette fois, mais partagez les supports si possible. "
                    "Ce serait bien d'organiser la même chose en Île-de-France."
                ),
            },
            {
                "author": "marc",
                "hours_after": 70,
                "body": (
                    "Bonne initiative. Si ça vous intéresse, je peux raconter comment nous "
                    "avons monté la nôtre à Nantes l'an dernier."
                ),
            },
        ],
    },
    {
        "category": "outils-et-structures",
        "title": "Immersion en entreprise : à quel moment du parcours la proposez-vous ?",
        "author": "sophie",
        "days_ago": 35,
        "pinned": False,
        "tags": ["jeunes", "reconversion"],
        "body": (
            "Les périodes de mise en situation en milieu professionnel sont un outil "
            "formidable pour vérifier un projet. Mais je me demande si je ne les propose pas "
            "trop tôt, avant que le jeune ait vraiment exploré le métier.\n\n"
            "Vous les utilisez plutôt pour découvrir un métier ou pour confirmer un choix ?"
        ),
        "replies": [
            {
                "author": "julien",
                "hours_after": 8,
                "body": (
                    "Les deux ! Pour nos publics, une immersion courte permet aussi de "
                    "vérifier la compatibilité du poste avec les restrictions de santé, "
                    "avant d'engager une formation."
                ),
            },
            {
                "author": "claire",
                "hours_after": 36,
                "body": (
                    "Pour les salariés en reconversion, je la propose après les enquêtes "
                    "métier : ils arrivent avec des questions précises et en tirent "
                    "beaucoup plus."
                ),
            },
        ],
    },
    {
        "category": "la-comcep-on-en-parle",
        "title": "J'ai présenté la ComCEP en réunion d'équipe : les questions de mes collègues",
        "author": "karim",
        "days_ago": 15,
        "pinned": False,
        "tags": [],
        "body": (
            "J'ai fait une présentation de dix minutes de la ComCEP à mon équipe. Les "
            "questions les plus fréquentes :\n\n"
            "- « Ma hiérarchie peut-elle lire ce que j'écris ? »\n"
            "- « Combien de temps faut-il y consacrer ? »\n"
            "- « Est-ce que j'aurai des réponses rapidement ? »\n\n"
            "Je leur ai répondu de mon mieux, mais vos avis m'intéressent."
        ),
        "replies": [
            {
                "author": "marc",
                "hours_after": 4,
                "body": (
                    "Je fais la même présentation chez nous dans quinze jours, je reprends "
                    "ta liste si tu veux bien."
                ),
            },
            {
                "author": "isabelle",
                "hours_after": 12,
                "body": (
                    "Merci Karim ! Les responsables de structure ne sont pas admis comme "
                    "pairs, et les partenaires ne lisent que la rubrique « Échanges hors "
                    "pairs ». Quant aux réponses, la plupart arrivent en moins de 48 heures."
                ),
            },
        ],
    },
    {
        "category": "petites-annonces",
        "title": "Recherche binôme pour co-animer un atelier « projet professionnel »",
        "author": "marc",
        "days_ago": 5,
        "pinned": False,
        "tags": ["orientation"],
        "body": (
            "Je cherche un ou une collègue d'un autre réseau pour co-animer un atelier "
            "collectif « construire son projet professionnel » dans l'ouest, au printemps. "
            "Trois demi-journées, en présentiel. Intéressé·e ? Écrivez-moi en message privé."
        ),
        "replies": [
            {
                "author": "claire",
                "hours_after": 52,
                "body": "Rennes n'est pas loin de Nantes : je t'envoie un message privé !",
            },
        ],
    },
    # ------------------------------------------------------------------- Divers
    {
        "category": "divers",
        "title": "Décrocher après une journée d'entretiens : vos habitudes ?",
        "author": "julien",
        "days_ago": 105,
        "pinned": False,
        "tags": [],
        "body": (
            "Certaines journées sont lourdes : situations de santé difficiles, personnes en "
            "grande détresse. Comment faites-vous pour « laisser le travail au travail » ?"
        ),
        "replies": [
            {
                "author": "claire",
                "hours_after": 80,
                "body": (
                    "Je rentre à pied, vingt minutes sans téléphone. Et nous avons une "
                    "analyse de pratique mensuelle à l'agence, qui aide beaucoup."
                ),
            },
            {
                "author": "nadia",
                "hours_after": 110,
                "body": (
                    "J'écris en fin de journée ce qui reste en suspens pour le lendemain. "
                    "Une fois noté, j'arrive mieux à passer à autre chose."
                ),
            },
            {
                "author": "karim",
                "hours_after": 180,
                "body": "Le sport, sans hésiter. Et ce forum, qui évite de se sentir seul !",
            },
        ],
    },
    # -------------------------------------------------------- Échanges hors pairs
    {
        "category": "echanges",
        "title": "Cartographie régionale des formations financées : vos retours de terrain",
        "author": "helene",
        "days_ago": 28,
        "pinned": False,
        "tags": ["formation", "financement"],
        "body": (
            "Le Carif-Oref Grand Est a mis à jour sa cartographie des formations financées "
            "pour les demandeurs d'emploi. Nous aimerions savoir si les conseillers "
            "l'utilisent en entretien et ce qui leur manque.\n\n"
            "Les informations pour les autres régions se trouvent sur "
            "https://www.intercariforef.org."
        ),
        "replies": [
            {
                "author": "nadia",
                "hours_after": 14,
                "body": (
                    "Nous utilisons l'outil équivalent de notre région. Ce qui manque "
                    "souvent : les dates de sessions à jour et les places restantes."
                ),
            },
            {
                "author": "helene",
                "hours_after": 40,
                "body": (
                    "Merci, c'est noté. Nous travaillons justement à l'actualisation "
                    "hebdomadaire des sessions avec les organismes."
                ),
            },
        ],
    },
    {
        "category": "echanges",
        "title": "Question au comité : quelle suite pour les situations de multi-statuts ?",
        "author": "julien",
        "days_ago": 62,
        "pinned": False,
        "tags": ["salaries", "demandeurs-emploi"],
        "body": (
            "Nous rencontrons de plus en plus de personnes à la fois salariées à temps "
            "partiel, micro-entrepreneuses et inscrites comme demandeuses d'emploi. Qui "
            "finance quoi, qui accompagne ? Les réponses varient d'un territoire à l'autre.\n\n"
            "Le comité prévoit-il un travail national sur ces situations ?"
        ),
        "replies": [
            {
                "author": "paul",
                "hours_after": 52,
                "body": (
                    "Merci pour cette question. Le sujet est inscrit à l'ordre du jour du "
                    "prochain comité opérationnel ; nous reviendrons vers vous ici avec une "
                    "synthèse."
                ),
            },
            {
                "author": "helene",
                "hours_after": 75,
                "body": (
                    "Côté Carif-Oref, nous pouvons recenser les règles de financement "
                    "régionales applicables à ces publics pour alimenter ce travail."
                ),
            },
            {
                "author": "isabelle",
                "hours_after": 80,
                "body": (
                    "Je relaie ce fil dans l'espace des pairs pour recueillir d'autres "
                    "exemples anonymisés."
                ),
            },
        ],
    },
    {
        "category": "propositions-d-outils",
        "title": "Fiche de synthèse sur les dispositifs de reconversion des salariés",
        "author": "paul",
        "days_ago": 38,
        "pinned": False,
        "tags": ["reconversion", "transition-professionnelle", "salaries"],
        "body": (
            "Nous proposons une fiche d'une page comparant les principaux dispositifs "
            "mobilisables par un salarié qui veut changer de métier :\n\n"
            "- le compte personnel de formation ;\n"
            "- le projet de transition professionnelle ;\n"
            "- la démission pour reconversion ;\n"
            "- la reconversion ou promotion par alternance.\n\n"
            "Vos remarques de praticiens nous aideront à la rendre vraiment utile en "
            "entretien."
        ),
        "replies": [
            {
                "author": "marc",
                "hours_after": 96,
                "body": (
                    "Très utile. Il faudrait ajouter pour chaque dispositif qui instruit la "
                    "demande et les délais moyens : c'est la première question des "
                    "bénéficiaires."
                ),
            },
            {
                "author": "paul",
                "hours_after": 110,
                "body": "Bonne remarque, nous ajoutons une colonne dans la prochaine version.",
            },
        ],
    },
    {
        "category": "propositions-d-outils",
        "title": "Guide régional « Financer sa formation » : nouvelle édition",
        "author": "helene",
        "days_ago": 3,
        "pinned": False,
        "tags": ["financement", "formation"],
        "body": (
            "La nouvelle édition du guide « Financer sa formation » du Carif-Oref Grand Est "
            "est disponible. Elle présente, par public, les financements mobilisables : "
            "salariés, demandeurs d'emploi, jeunes, personnes en situation de handicap. "
            "N'hésitez pas à la diffuser à vos collègues."
        ),
        "replies": [],
    },
    # ---------------------------------------------------- Le coin des animateurs
    {
        "category": "coin-des-animateurs",
        "title": "Planning d'animation du trimestre et sujets à relancer",
        "author": "isabelle",
        "days_ago": 22,
        "pinned": False,
        "tags": [],
        "body": (
            "Pour le trimestre, je propose :\n\n"
            "- un message d'accueil personnalisé pour chaque nouvel inscrit ;\n"
            "- la relance des sujets restés sans réponse après 48 heures ;\n"
            "- un relais mensuel des échanges hors pairs vers l'espace des pairs.\n\n"
            "Des remarques avant que je le présente au comité opérationnel ?"
        ),
        "replies": [
            {
                "author": "thomas",
                "hours_after": 50,
                "body": (
                    "Rien à ajouter sur le fond, le planning me paraît réaliste. Dites-moi "
                    "si vous avez besoin d'un nouveau mot-clé pour le relais mensuel."
                ),
            },
        ],
    },
    # -------------------------------------------------------------- Groupe pilote
    {
        "category": "consultations",
        "title": "Consultation : faut-il une rubrique dédiée aux situations de multi-statuts ?",
        "author": "isabelle",
        "days_ago": 58,
        "pinned": False,
        "tags": [],
        "body": (
            "Plusieurs fils récents portent sur des personnes cumulant plusieurs statuts. "
            "Faut-il leur consacrer une rubrique, ou un mot-clé suffit-il ? Votre avis de "
            "membres du Groupe pilote m'aidera à trancher."
        ),
        "replies": [
            {
                "author": "nadia",
                "hours_after": 10,
                "body": (
                    "Je pencherais pour un mot-clé : ces cas touchent aussi bien le montage "
                    "de dossier que le suivi du parcours. Une rubrique de plus risque de "
                    "disperser les échanges."
                ),
            },
            {
                "author": "isabelle",
                "hours_after": 30,
                "body": "C'est aussi mon sentiment. Je le propose à l'équipe d'administration.",
            },
            {
                "author": "nadia",
                "hours_after": 35,
                "body": "Parfait, merci de nous avoir consultés.",
            },
        ],
    },
]
