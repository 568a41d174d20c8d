"""Every constant that ranks sections or judges confidence, in one place (retrieval.py and compose.py read them).

Changing one changes answers: run bench/quality.py before and after. The answer cache's engine version hashes
this file (services/versions.py), so a change here never serves answers the previous values produced.
"""

from __future__ import annotations

# --- Scoring (services/retrieval.py) ---
TITLE_WEIGHT = 1.0  # BM25 on the title field (heading, FAQ question + keywords) added on top of the full text's
SYNONYM_WEIGHT = 0.8  # a synonym or transliteration scores this share of the question's own word
NEIGHBOUR_WEIGHT = 0.5  # a word-vector neighbour of an unknown word scores this share (ranking only)
NEIGHBOUR_POOL, NEIGHBOURS = 10, 3  # Kiwi's nearest morphemes looked at / kept (those the handbook uses)
FAQ_LINK_DEPTH = 10  # the top this-many sections lend their score to the section their FAQ links to
FAQ_LINK_WEIGHT = 0.9  # a linked section scores at least this share of the FAQ entry linking to it

# --- Evidence weight of a question word, relative to its idf (ranking and confidence) ---
# Verbs and generic workplace nouns (회사, 신청, 시간) say less about the topic than a specific noun; a one-letter
# word or a bare number even less.
VERB_FACTOR = 0.2  # a verb or adjective (ranks in full, counts this much in the confidence)
GENERIC_FACTOR = 0.3  # a generic workplace noun or a number (a time word the handbook never uses counts 0)
# A word in more than this share of the handbook's sections (its company name, its site 오송 or 판교, 신청) says little
# about which section answers: it counts as generic in the confidence (ranking keeps its BM25 idf). Derived from the
# handbook itself, not from a word list; chosen across four knowledge bases (leave-one-KB-out).
GENERIC_SHARE = 0.2
GENERIC_MIN_SECTIONS = 5  # ... and in more than this many: in a handbook of a dozen sections a share says nothing
SHORT_FACTOR = 0.5  # a one-letter word
UNKNOWN_FACTOR = 0.75  # a word the handbook never uses counts against confidence, at most this share of max idf
# A topic word the top hit lacks but the handbook uses in an unrelated section (not the hit's parent or sub-sections)
# says the question is about something else the handbook covers there ("개인 신용카드 한도": 한도 is in the travel
# rules, not the card FAQ): it counts this many times its weight against the confidence. A word in more than
# COUNTER_MAX_DF sections is too common to point anywhere and counts once (and keeps the check cheap).
COUNTER_WEIGHT = 2.0
COUNTER_MAX_DF = 64

# --- Re-ranking (soft AND) ---
RERANK_DEPTH = 30  # how many top BM25 candidates are re-ranked by how much of the question they cover
COVERAGE_BONUS = 1.0  # score × (1 + this × coverage): covering the whole question doubles a section's score
CHILD_SCORE = 0.8  # a sub-section within this share of its parent's score (covering as much) is preferred
CHILD_LOOKAHEAD = 3  # how many runners-up are checked for being the top hit's sub-section
DEMOTED_SHARE = 0.5  # a section demoted for the question ("다른 문서가 필요해요") scores at most this share of the last
# other hit (services/demotion.py), so it never rivals the hit that replaces it
DEMOTED_SIMILARITY = 0.6  # a near-duplicate of a demoted question shares this much of its morphemes, verbs included

# --- Dense fusion (reciprocal rank fusion, when embeddings are available) ---
LEXICAL_POOL = 20  # lexical hits fused with the dense ranking
DENSE_POOL = 20  # dense hits fused with the lexical ranking
RRF_K = 60  # the reciprocal-rank-fusion constant (1 / (RRF_K + rank))
DENSE_WEIGHT = 0.7  # a dense rank counts this much of a lexical rank

# --- Verdict and composition (services/compose.py) ---
MIN_MARGIN = 0.05  # the top hit must be this much ahead of the runner-up (score ratio − 1) to be a clear answer
# Calibrated across four knowledge bases (the sample, kb2 and two others; leave-one-KB-out): with several topic words in
# the question, a section matching only one of them needs this much coverage to count.
SINGLE_TERM_CONFIDENCE = 0.6  # coverage a one-matched-word hit needs when the question has several topic words
GROUNDING_SECTIONS = 3  # sections an answer may be grounded on (and the LLM reads)
RELATED = 3  # related FAQ questions / suggestions shown at most
SUGGEST_COVERAGE = 0.25  # a "maybe this helps" suggestion (and the team to ask) needs this much coverage
CLOSE_SCORE = 0.8  # a runner-up within this share of the top score is close enough to cite or suggest
