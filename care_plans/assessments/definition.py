"""Assessment template definitions: their JSON schema, the semantic checks the
schema cannot express, and the pure rules that read a definition (which questions
are shown, whether an answer fits, scores, suggested needs).

A definition is data a plan administrator adds in the Django admin, so every rule
that the forms, the services and the API apply to answers lives here, read from
the definition, never from code per question.

    {"title": "...",
     "sections": [{"key", "title", "description"?,
                   "questions": [{"key", "text", "type", "required"?, "help"?,
                                  "choices"?: [{"value", "label", "score"?,
                                                "exclusive"?}],
                                  "min"?, "max"?, "integer"?, "max_length"?,
                                  "show_if"?: {"question"|"score": key,
                                               "equals"|"in"|"gte"|"lte": ...},
                                  "part2"?: true,
                                  "need"?: {"domain", "description", "when"}}]}],
     "scores": [{"key", "label", "items": [question keys], "hidden_as_zero"?,
                 "bands": [{"min", "max", "key", "label", "positive"?}],
                 "need"?: {"domain", "description"}}]}

Conditions may only look back (at an earlier question, or at a score whose items
all come earlier), so one pass in order decides what is shown. A score condition
compares the sum of the items answered so far: choice scores are never negative,
so "at least 3" is already decided once the answered part reaches 3 (PHQ-2 -> PHQ-9).
"""

import datetime
from dataclasses import dataclass

import jsonschema

QUESTION_TYPES = (
    "single_choice",
    "multi_choice",
    "yes_no",
    "number",
    "date",
    "text",
)
CHOICE_TYPES = ("single_choice", "multi_choice")
# The values of care_plans.models.NeedDomain (the care plan's needs); the
# assessment app may not import the care plan's models (same layer, and the
# definition is checked in migrations too), so the list is repeated here and a
# test keeps the two equal.
NEED_DOMAINS = (
    "physical_health",
    "behavioral_health",
    "substance_use",
    "housing",
    "food",
    "transportation",
    "utilities",
    "safety",
    "functional",
    "medications",
    "social_supports",
    "other",
)
TEXT_MAX_LENGTH = 4000
KEY_PATTERN = "^[a-z][a-z0-9_]{0,59}$"

_KEY = {"type": "string", "pattern": KEY_PATTERN}
_LABEL = {"type": "string", "minLength": 1, "maxLength": 500}
_NUMBER = {"type": "number"}
_CONDITION = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "question": _KEY,
        "score": _KEY,
        "equals": {"type": ["string", "number", "boolean"]},
        "in": {
            "type": "array",
            "minItems": 1,
            "items": {"type": ["string", "number", "boolean"]},
        },
        "gte": _NUMBER,
        "lte": _NUMBER,
    },
    "oneOf": [{"required": ["question"]}, {"required": ["score"]}],
    "minProperties": 2,
    "maxProperties": 2,
}
_CHOICE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["value", "label"],
    "properties": {
        "value": {"type": "string", "minLength": 1, "maxLength": 60},
        "label": _LABEL,
        "score": {"type": "integer", "minimum": 0, "maximum": 100},
        "exclusive": {"type": "boolean"},
    },
}
_QUESTION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["key", "text", "type"],
    "properties": {
        "key": _KEY,
        "text": {"type": "string", "minLength": 1, "maxLength": 1000},
        "help": {"type": "string", "maxLength": 1000},
        "type": {"enum": list(QUESTION_TYPES)},
        "required": {"type": "boolean"},
        "part2": {"type": "boolean"},
        "choices": {"type": "array", "minItems": 2, "items": _CHOICE},
        "min": _NUMBER,
        "max": _NUMBER,
        "integer": {"type": "boolean"},
        "max_length": {"type": "integer", "minimum": 1, "maximum": TEXT_MAX_LENGTH},
        "not_future": {"type": "boolean"},
        "show_if": _CONDITION,
        "need": {
            "type": "object",
            "additionalProperties": False,
            "required": ["domain", "description", "when"],
            "properties": {
                "domain": {"enum": list(NEED_DOMAINS)},
                "description": _LABEL,
                "when": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": ["string", "boolean"]},
                },
            },
        },
    },
}
_BAND = {
    "type": "object",
    "additionalProperties": False,
    "required": ["min", "max", "key", "label"],
    "properties": {
        "min": {"type": "integer"},
        "max": {"type": "integer"},
        "key": _KEY,
        "label": _LABEL,
        "positive": {"type": "boolean"},
    },
}
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Assessment template definition",
    "type": "object",
    "additionalProperties": False,
    "required": ["sections"],
    "properties": {
        "title": _LABEL,
        "sections": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["key", "title", "questions"],
                "properties": {
                    "key": _KEY,
                    "title": _LABEL,
                    "description": {"type": "string", "maxLength": 2000},
                    "questions": {"type": "array", "minItems": 1, "items": _QUESTION},
                },
            },
        },
        "scores": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["key", "label", "items", "bands"],
                "properties": {
                    "key": _KEY,
                    "label": _LABEL,
                    "items": {"type": "array", "minItems": 1, "items": _KEY},
                    "hidden_as_zero": {"type": "boolean"},
                    "bands": {"type": "array", "minItems": 1, "items": _BAND},
                    "need": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["domain", "description"],
                        "properties": {
                            "domain": {"enum": list(NEED_DOMAINS)},
                            "description": _LABEL,
                        },
                    },
                },
            },
        },
    },
}
_validator = jsonschema.Draft202012Validator(SCHEMA)


class DefinitionError(ValueError):
    """A definition that does not hold; `problems` lists each, with its path."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _path(error) -> str:
    return "/".join(str(part) for part in error.absolute_path) or "(top)"


def validate_definition(definition) -> None:
    """Raise DefinitionError naming every problem, or return quietly.

    First the JSON schema (shape and types), then what it cannot say: keys unique
    across the template, choices only on choice questions and values unique,
    min <= max, conditions that look back at an earlier question (or a score of
    earlier questions) with a value the question can take, scores over single
    choice questions whose choices all carry a score, bands that cover the
    score's whole range without overlap, and no way for Part 2 content to show
    through: a question outside Part 2 may not depend on a Part 2 answer, and
    a Part 2 question or score suggests no need (the care plan would carry it).
    """
    problems = [
        f"{_path(error)}: {error.message}"
        for error in sorted(_validator.iter_errors(definition), key=str)
    ]
    if problems:
        raise DefinitionError(problems)
    problems = _semantic_problems(definition)
    if problems:
        raise DefinitionError(problems)


def _semantic_problems(definition) -> list[str]:
    problems = []
    seen: dict[str, dict] = {}
    section_keys = set()
    scores = {score["key"]: score for score in definition.get("scores", [])}
    score_ready: dict[str, int] = {}  # score key -> position after its last item
    position_of = {}
    for section in definition["sections"]:
        if section["key"] in section_keys:
            problems.append(f"section {section['key']}: the key is used twice")
        section_keys.add(section["key"])
        for question in section["questions"]:
            position_of[question["key"]] = len(position_of)
    for score in scores.values():
        missing = [item for item in score["items"] if item not in position_of]
        if missing:
            problems.append(
                f"score {score['key']}: no question {', '.join(missing)} "
                "in the template"
            )
            continue
        score_ready[score["key"]] = max(position_of[item] for item in score["items"])
    for key in scores:
        if key in position_of:
            problems.append(f"score {key}: a question has the same key")

    for section in definition["sections"]:
        for question in section["questions"]:
            key = question["key"]
            where = f"question {key}"
            if key in seen:
                problems.append(f"{where}: the key is used twice")
            kind = question["type"]
            choices = question.get("choices")
            if kind in CHOICE_TYPES:
                if not choices:
                    problems.append(f"{where}: a {kind} question needs choices")
                else:
                    values = [choice["value"] for choice in choices]
                    if len(set(values)) != len(values):
                        problems.append(f"{where}: a choice value is used twice")
            elif choices:
                problems.append(f"{where}: only choice questions have choices")
            if kind != "number" and any(
                name in question for name in ("min", "max", "integer")
            ):
                problems.append(f"{where}: min, max and integer are for numbers")
            if (
                "min" in question
                and "max" in question
                and question["min"] > question["max"]
            ):
                problems.append(f"{where}: min is above max")
            if kind != "text" and "max_length" in question:
                problems.append(f"{where}: max_length is for text")
            if kind != "date" and "not_future" in question:
                problems.append(f"{where}: not_future is for dates")
            if kind != "multi_choice" and any(
                choice.get("exclusive") for choice in choices or []
            ):
                problems.append(f"{where}: only multi_choice choices are exclusive")
            condition = question.get("show_if")
            if condition:
                problems += _condition_problems(
                    where, question, condition, seen, scores, score_ready, position_of
                )
            need = question.get("need")
            if need:
                if question.get("part2"):
                    problems.append(
                        f"{where}: a Part 2 question cannot suggest a need "
                        "(the care plan would disclose it)"
                    )
                problems += _need_problems(where, question, need)
            seen[key] = question

    for score in scores.values():
        problems += _score_problems(score, seen)
    return problems


def _condition_problems(
    where, question, condition, seen, scores, score_ready, position_of
):
    problems = []
    operator = next(name for name in condition if name not in ("question", "score"))
    if "question" in condition:
        target_key = condition["question"]
        target = seen.get(target_key)
        if target is None:
            return [
                f"{where}: show_if refers to {target_key}, which is not an "
                "earlier question"
            ]
        if target.get("part2") and not question.get("part2"):
            problems.append(
                f"{where}: shown on a Part 2 answer, so it must be Part 2 itself"
            )
        kind = target["type"]
        values = condition[operator] if operator == "in" else [condition[operator]]
        if operator in ("gte", "lte"):
            if kind != "number":
                problems.append(f"{where}: {operator} compares numbers only")
        elif kind in CHOICE_TYPES:
            allowed = {choice["value"] for choice in target.get("choices") or []}
            wrong = [value for value in values if value not in allowed]
            if wrong:
                problems.append(
                    f"{where}: show_if names {wrong[0]!r}, not a choice of {target_key}"
                )
        elif kind == "yes_no":
            if any(not isinstance(value, bool) for value in values):
                problems.append(f"{where}: a yes/no answer is true or false")
        elif kind in ("text", "date"):
            problems.append(f"{where}: show_if cannot depend on a {kind} answer")
    else:
        score_key = condition["score"]
        if score_key not in scores:
            return [
                f"{where}: show_if refers to score {score_key}, which is not defined"
            ]
        ready = score_ready.get(score_key)
        if ready is None or ready >= position_of[question["key"]]:
            problems.append(
                f"{where}: score {score_key} must be made of earlier questions"
            )
        if operator not in ("gte", "lte"):
            problems.append(f"{where}: a score condition uses gte or lte")
        items = scores[score_key]["items"]
        from_part2 = any(seen.get(item, {}).get("part2") for item in items)
        if from_part2 and not question.get("part2"):
            problems.append(
                f"{where}: shown on a Part 2 score, so it must be Part 2 itself"
            )
    return problems


def _need_problems(where, question, need):
    kind = question["type"]
    if kind in CHOICE_TYPES:
        allowed = {choice["value"] for choice in question.get("choices") or []}
        wrong = [value for value in need["when"] if value not in allowed]
        if wrong:
            return [f"{where}: need.when names {wrong[0]!r}, not one of its choices"]
        return []
    if kind == "yes_no":
        if any(not isinstance(value, bool) for value in need["when"]):
            return [f"{where}: need.when of a yes/no question is true or false"]
        return []
    return [f"{where}: only choice and yes/no questions suggest needs"]


def _score_problems(score, questions) -> list[str]:
    where = f"score {score['key']}"
    problems = []
    low = high = 0
    for item in score["items"]:
        question = questions.get(item)
        if question is None:
            continue  # reported above
        choices = question.get("choices") or []
        if question["type"] != "single_choice" or any(
            "score" not in choice for choice in choices
        ):
            problems.append(
                f"{where}: {item} must be a single choice question with a score "
                "on every choice"
            )
            continue
        low += min(choice["score"] for choice in choices)
        high += max(choice["score"] for choice in choices)
    if problems:
        return problems
    is_part2 = any(questions[item].get("part2") for item in score["items"])
    if is_part2 and score.get("need"):
        problems.append(f"{where}: a Part 2 score cannot suggest a need")
    if score.get("need") and not any(band.get("positive") for band in score["bands"]):
        problems.append(f"{where}: a score that suggests a need needs a positive band")
    expected = low
    for band in sorted(score["bands"], key=lambda band: band["min"]):
        if band["min"] > band["max"]:
            problems.append(f"{where}: band {band['key']} has min above max")
        if band["min"] != expected:
            problems.append(
                f"{where}: the bands must cover {low}-{high} without gaps or "
                f"overlaps (band {band['key']} starts at {band['min']}, "
                f"expected {expected})"
            )
            break
        expected = band["max"] + 1
    else:
        if expected != high + 1:
            problems.append(f"{where}: the bands must reach the highest score, {high}")
    return problems


# --- Reading a definition -----------------------------------------------------------


@dataclass(frozen=True)
class Question:
    section: str
    spec: dict

    @property
    def key(self) -> str:
        return self.spec["key"]

    @property
    def type(self) -> str:
        return self.spec["type"]

    @property
    def part2(self) -> bool:
        return bool(self.spec.get("part2"))

    @property
    def required(self) -> bool:
        return bool(self.spec.get("required"))

    @property
    def conditional(self) -> bool:
        return "show_if" in self.spec

    def choice_label(self, value) -> str:
        for choice in self.spec.get("choices") or []:
            if choice["value"] == value:
                return choice["label"]
        return str(value)


def questions(definition) -> list[Question]:
    """Every question of the definition, in order."""
    return [
        Question(section["key"], question)
        for section in definition["sections"]
        for question in section["questions"]
    ]


def question_map(definition) -> dict[str, Question]:
    return {question.key: question for question in questions(definition)}


def part2_score_keys(definition) -> set[str]:
    """Scores made of at least one Part 2 question (Part 2 themselves)."""
    part2 = {q.key for q in questions(definition) if q.part2}
    return {
        score["key"]
        for score in definition.get("scores", [])
        if part2.intersection(score["items"])
    }


def _choice_score(question: dict, value):
    for choice in question.get("choices") or []:
        if choice["value"] == value:
            return choice.get("score", 0)
    return 0


def _partial_score(score: dict, shown: dict, by_key) -> int:
    return sum(
        _choice_score(by_key[item].spec, shown[item])
        for item in score["items"]
        if item in shown
    )


def _holds(condition: dict, shown: dict, scores: dict, by_key) -> bool:
    if "score" in condition:
        value = _partial_score(scores[condition["score"]], shown, by_key)
    else:
        if condition["question"] not in shown:
            return False
        value = shown[condition["question"]]
    if "equals" in condition:
        if isinstance(value, list):
            return condition["equals"] in value
        return value == condition["equals"]
    if "in" in condition:
        if isinstance(value, list):
            return any(item in condition["in"] for item in value)
        return value in condition["in"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if "gte" in condition:
        return value >= condition["gte"]
    return value <= condition["lte"]


def visible_keys(definition, answers: dict) -> list[str]:
    """The keys of the questions shown for `answers`, in order.

    One pass: a question is shown when it has no condition or its condition holds
    on the answers of the questions shown before it (a hidden question's answer
    counts as no answer, so hiding cascades).
    """
    by_key = question_map(definition)
    scores = {score["key"]: score for score in definition.get("scores", [])}
    shown: dict = {}
    keys = []
    for question in by_key.values():
        condition = question.spec.get("show_if")
        if condition and not _holds(condition, shown, scores, by_key):
            continue
        keys.append(question.key)
        if question.key in answers:
            shown[question.key] = answers[question.key]
    return keys


# --- Checking answers ---------------------------------------------------------------


class AnswerError(ValueError):
    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def clean_answer(question: Question, value, *, today: datetime.date):
    """The stored form of one answer, or AnswerError(message, code).

    JSON types: a choice value (string), a list of them, true/false, a number,
    an ISO date string, a string. The message names what is wrong; the caller
    names the question.
    """
    spec = question.spec
    kind = question.type
    if kind == "single_choice":
        allowed = [choice["value"] for choice in spec["choices"]]
        if not isinstance(value, str) or value not in allowed:
            raise AnswerError(
                f"{value!r} is not one of the choices ({', '.join(allowed)}).",
                "invalid_choice",
            )
        return value
    if kind == "multi_choice":
        allowed = [choice["value"] for choice in spec["choices"]]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise AnswerError("Give a list of choices.", "invalid_type")
        wrong = [item for item in value if item not in allowed]
        if wrong:
            raise AnswerError(
                f"{wrong[0]!r} is not one of the choices ({', '.join(allowed)}).",
                "invalid_choice",
            )
        if len(set(value)) != len(value):
            raise AnswerError("A choice is given twice.", "duplicate_choice")
        exclusive = {c["value"] for c in spec["choices"] if c.get("exclusive")}
        if len(value) > 1 and exclusive.intersection(value):
            label = question.choice_label(next(iter(exclusive.intersection(value))))
            raise AnswerError(
                f"“{label}” cannot be combined with other choices.",
                "exclusive_choice",
            )
        if not value:
            raise AnswerError("Choose at least one.", "required")
        return [item for item in allowed if item in value]  # the template's order
    if kind == "yes_no":
        if not isinstance(value, bool):
            raise AnswerError("Answer true (yes) or false (no).", "invalid_type")
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise AnswerError("Give a number.", "invalid_type")
        if spec.get("integer", True):
            if value != int(value):
                raise AnswerError("Give a whole number.", "invalid_type")
            value = int(value)
        if "min" in spec and value < spec["min"]:
            raise AnswerError(f"The lowest allowed is {spec['min']}.", "min_value")
        if "max" in spec and value > spec["max"]:
            raise AnswerError(f"The highest allowed is {spec['max']}.", "max_value")
        return value
    if kind == "date":
        if not isinstance(value, str):
            raise AnswerError("Give a date as YYYY-MM-DD.", "invalid_type")
        try:
            day = datetime.date.fromisoformat(value)
        except ValueError:
            raise AnswerError("Give a date as YYYY-MM-DD.", "invalid_date") from None
        if len(value) != 10:
            raise AnswerError("Give a date as YYYY-MM-DD.", "invalid_date")
        if spec.get("not_future") and day > today:
            raise AnswerError("The date cannot be in the future.", "future_date")
        return day.isoformat()
    # text
    if not isinstance(value, str):
        raise AnswerError("Give text.", "invalid_type")
    value = value.strip()
    limit = spec.get("max_length", TEXT_MAX_LENGTH)
    if len(value) > limit:
        raise AnswerError(f"At most {limit} characters.", "max_length")
    if not value:
        raise AnswerError("An answer cannot be blank; send null to clear it.", "blank")
    return value


# --- Scores and needs ---------------------------------------------------------------


def compute_scores(definition, answers: dict) -> dict:
    """Each score whose items are all answered, with its band.

    `answers` are the final ones (hidden answers already dropped), so a score of
    questions that were not shown (PHQ-9 after a negative PHQ-2) is absent,
    unless the score counts a hidden item as 0 (`hidden_as_zero`: no drinks on a
    typical day for someone who never drinks).
    """
    by_key = question_map(definition)
    part2 = part2_score_keys(definition)
    shown = set(visible_keys(definition, answers))
    result = {}
    for score in definition.get("scores", []):
        needed = [
            item
            for item in score["items"]
            if item in shown or not score.get("hidden_as_zero")
        ]
        if not all(item in answers for item in needed):
            continue
        value = _partial_score(score, answers, by_key)
        band = next(
            band for band in score["bands"] if band["min"] <= value <= band["max"]
        )
        result[score["key"]] = {
            "label": score["label"],
            "value": value,
            "max": max(band["max"] for band in score["bands"]),
            "band": band["key"],
            "band_label": band["label"],
            "positive": bool(band.get("positive")),
            "part2": score["key"] in part2,
        }
    return result


def needs_found(definition, answers: dict, scores: dict) -> list[dict]:
    """The needs a completed assessment's answers suggest, in template order:
    {"domain", "description", "question"} (a score's need names the score's key).
    Part 2 content never suggests one (validate_definition refuses it)."""
    found = []
    for question in questions(definition):
        need = question.spec.get("need")
        if not need or question.part2 or question.key not in answers:
            continue
        value = answers[question.key]
        values = value if isinstance(value, list) else [value]
        if any(item in need["when"] for item in values):
            found.append(
                {
                    "domain": need["domain"],
                    "description": need["description"],
                    "question": question.key,
                }
            )
    for score in definition.get("scores", []):
        need = score.get("need")
        result = scores.get(score["key"])
        if need and result and result["positive"] and not result["part2"]:
            found.append(
                {
                    "domain": need["domain"],
                    "description": need["description"],
                    "question": score["key"],
                }
            )
    return found
