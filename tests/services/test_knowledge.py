"""Knowledge base loading: the sample handbook, heading paths, and lenient handling of bad files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from services.errors import KnowledgeError
from services.knowledge import (
    FAQ_TITLE,
    KnowledgeBase,
    SectionKind,
    load_knowledge_base,
    parse_markdown,
    sample_kb_dir,
)

SAMPLE_CATEGORIES = {"IT/업무 환경", "근태·휴가", "급여·경비", "인사 서비스", "복리후생", "총무/사무실"}


def test_sample_handbook_is_complete(sample_kb: KnowledgeBase) -> None:
    assert sample_kb.errors == []
    assert sample_kb.doc_section_count >= 40 and sample_kb.faq_count >= 30
    assert {c.name for c in sample_kb.categories} == SAMPLE_CATEGORIES
    assert {s.category for s in sample_kb.sections} == {c.id for c in sample_kb.categories}
    assert all(s.department in sample_kb.departments for s in sample_kb.sections)
    assert all(d.channel.startswith("#") for d in sample_kb.departments.values())
    assert len(sample_kb.version) == 12


def test_sample_faq_links_point_at_real_sections(sample_kb: KnowledgeBase) -> None:
    headings = {s.heading for s in sample_kb.sections if s.kind is SectionKind.DOC}
    linked = [s.related_heading for s in sample_kb.sections if s.related_heading]
    assert linked and set(linked) <= headings


def test_markdown_chunks_keep_their_heading_path() -> None:
    text = (
        "---\ncategory: it\nlink: https://wiki/x\n---\n# 가이드\n소개 문단\n\n## 와이파이\n사내망 안내\n"
        "### 게스트 와이파이\n방문객용\n```\n## 코드 안의 제목은 제목이 아니에요\n```\n## 빈 상위\n### 하위\n내용\n"
    )
    sections = parse_markdown("guide.md", text)
    assert [s.title for s in sections] == [
        "가이드",
        "가이드 > 와이파이",
        "가이드 > 와이파이 > 게스트 와이파이",
        "가이드 > 빈 상위 > 하위",
    ]
    assert "코드 안의 제목" in sections[2].text
    assert all(s.category == "it" and s.link == "https://wiki/x" for s in sections)


def _copy_sample(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(sample_kb_dir(), root)
    return root


def test_malformed_files_are_reported_with_file_and_line_and_the_rest_loads(tmp_path: Path) -> None:
    root = _copy_sample(tmp_path)
    (root / "docs" / "broken.md").write_text("---\ncategory: [unclosed\n---\n# 제목\n## 섹션\n내용\n", encoding="utf-8")
    (root / "faq.yaml").write_text(
        "- question: 좋은 질문\n  answer: 좋은 답\n- question: 답이 없는 질문\n- category: it\n"
        "  question: 또 좋은 질문\n  answer: 또 좋은 답\n",
        encoding="utf-8",
    )
    kb = load_knowledge_base(root)
    reported = {(e.path, e.line) for e in kb.errors}
    assert ("faq.yaml", 3) in reported
    assert any(path == "docs/broken.md" and line is not None for path, line in reported)
    assert kb.faq_count == 2 and kb.documents == 6
    assert [s.question for s in kb.sections if s.kind is SectionKind.FAQ] == ["좋은 질문", "또 좋은 질문"]
    assert kb.sections[-1].title_path == (FAQ_TITLE, "또 좋은 질문")


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    root = _copy_sample(tmp_path)
    (root / "faq.yaml").write_text("- question: a\n  answer: b\n- question: [oops\n", encoding="utf-8")
    kb = load_knowledge_base(root)
    assert len(kb.errors) == 1 and kb.errors[0].path == "faq.yaml" and kb.errors[0].line is not None
    assert kb.faq_count == 0 and kb.doc_section_count >= 40


def test_version_changes_with_content(tmp_path: Path, sample_kb: KnowledgeBase) -> None:
    root = _copy_sample(tmp_path)
    assert load_knowledge_base(root).version == sample_kb.version
    with (root / "docs" / "it.md").open("a", encoding="utf-8") as fh:
        fh.write("\n## 새 섹션\n새 내용\n")
    changed = load_knowledge_base(root)
    assert changed.version != sample_kb.version
    assert changed.doc_section_count == sample_kb.doc_section_count + 1


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="does not exist"):
        load_knowledge_base(tmp_path / "nope")


def test_non_utf8_file_is_reported(tmp_path: Path) -> None:
    root = _copy_sample(tmp_path)
    (root / "docs" / "legacy.md").write_bytes("## 제목\n내용".encode("cp949"))
    kb = load_knowledge_base(root)
    assert [e.path for e in kb.errors] == ["docs/legacy.md"]


def test_every_heading_level_is_a_section_with_its_full_path() -> None:
    text = (
        "\ufeff---\r\ncategory: it\r\n---\r\n# 핸드북\r\n소개\r\n## 장\r\n장 본문\r\n"
        "#### 깊은 **소절**\r\n짧은 내용\r\n### 중간\r\n중간 본문\r\n#### 하위\r\n하위 본문\r\n"
        "##### 더 깊은\r\n다섯째\r\n###### 끝\r\n여섯째\r\n## 다른 장\r\n본문\r\n"
    )
    sections = parse_markdown("h.md", text)
    assert [s.title for s in sections] == [
        "핸드북",
        "핸드북 > 장",
        "핸드북 > 장 > 깊은 소절",  # a skipped level nests under the nearest shallower heading; no ** left
        "핸드북 > 장 > 중간",
        "핸드북 > 장 > 중간 > 하위",
        "핸드북 > 장 > 중간 > 하위 > 더 깊은",
        "핸드북 > 장 > 중간 > 하위 > 더 깊은 > 끝",
        "핸드북 > 다른 장",
    ]
    assert sections[1].text == "장 본문"  # a parent's own text stays its own section, without its children
    assert all(s.category == "it" for s in sections)  # front matter read despite the BOM and CRLF
    assert not any("#" in s.text for s in sections)


def test_a_document_without_h1_is_titled_by_its_file_name() -> None:
    sections = parse_markdown("guide/근태.md", "## 재택\n주 2회\n")
    assert [s.title for s in sections] == ["근태 > 재택"]
