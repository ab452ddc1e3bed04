//! The fonts compiled into the binary (assets/fonts/, with their licences) and the one thing
//! the invoice asks of them: a line of text as runs of shaped glyphs, each in the first font
//! that has its characters. Noto Sans covers Latin, Greek and Cyrillic; Droid Sans Fallback
//! covers Chinese, Japanese and Korean, for customers' names and addresses.

use std::ops::Range;
use std::sync::OnceLock;

use krilla::text::{Font, GlyphId, KrillaGlyph};

static MAIN_TTF: &[u8] = include_bytes!("../../assets/fonts/NotoSans-Regular.ttf");
static CJK_TTF: &[u8] = include_bytes!("../../assets/fonts/DroidSansFallback.ttf");

struct Face {
    shaper: rustybuzz::Face<'static>,
    /// Made once: building the plan was most of the cost of shaping a short line.
    plan: rustybuzz::ShapePlan,
    script: rustybuzz::Script,
    pdf: Font,
}

struct Faces {
    main: Face,
    cjk: Face,
}

fn faces() -> &'static Faces {
    // krilla hashes a font's whole data when it is made (3 MB for the CJK one): once a process.
    static FACES: OnceLock<Faces> = OnceLock::new();
    FACES.get_or_init(|| {
        let face = |data: &'static [u8], script: rustybuzz::Script| {
            let shaper = rustybuzz::Face::from_slice(data, 0).expect("bundled font parses");
            let plan = rustybuzz::ShapePlan::new(
                &shaper,
                rustybuzz::Direction::LeftToRight,
                Some(script),
                None,
                &[],
            );
            Face {
                shaper,
                plan,
                script,
                pdf: Font::new(data.into(), 0).expect("bundled font parses"),
            }
        };
        // Greek and Cyrillic shape as Latin does (no script of theirs needs a shaper of its
        // own), and Chinese, Japanese and Korean as Han.
        Faces {
            main: face(MAIN_TTF, rustybuzz::script::LATIN),
            cjk: face(CJK_TTF, rustybuzz::script::HAN),
        }
    })
}

/// A piece of a line in one font: its glyphs (advances in em), the text they show, its width
/// at size 1.
pub struct Run<'a> {
    pub font: Font,
    pub glyphs: Vec<KrillaGlyph>,
    pub text: &'a str,
    pub width: f32,
}

/// `text` shaped, split where the font must change. Characters no font has come out as the
/// main font's empty box: never a panic.
pub fn shape(text: &str) -> Vec<Run<'_>> {
    let faces = faces();
    let mut runs = Vec::new();
    let mut start = 0;
    let mut current: Option<bool> = None;
    for (i, c) in text.char_indices() {
        // Spaces and punctuation both fonts have stay in the run they are in.
        let cjk = if faces.main.shaper.glyph_index(c).is_some() {
            current.filter(|_| c.is_whitespace()).unwrap_or(false)
        } else {
            faces.cjk.shaper.glyph_index(c).is_some()
        };
        match current {
            Some(was) if was != cjk => {
                runs.push(run(faces, was, &text[start..i]));
                start = i;
                current = Some(cjk);
            }
            None => current = Some(cjk),
            _ => {}
        }
    }
    if start < text.len() {
        runs.push(run(faces, current.unwrap_or(false), &text[start..]));
    }
    runs
}

fn run<'a>(faces: &Faces, cjk: bool, text: &'a str) -> Run<'a> {
    let face = if cjk { &faces.cjk } else { &faces.main };
    let mut buffer = rustybuzz::UnicodeBuffer::new();
    buffer.push_str(text);
    buffer.set_direction(rustybuzz::Direction::LeftToRight);
    buffer.set_script(face.script);
    let output = rustybuzz::shape_with_plan(&face.shaper, &face.plan, buffer);
    let em = face.shaper.units_per_em() as f32;
    let infos = output.glyph_infos();
    let positions = output.glyph_positions();
    let mut glyphs = Vec::with_capacity(infos.len());
    let mut width = 0.0;
    for (i, (info, pos)) in infos.iter().zip(positions).enumerate() {
        let start = info.cluster as usize;
        // A cluster ends where the next one starts (left to right).
        let end = infos[i + 1..]
            .iter()
            .map(|n| n.cluster as usize)
            .find(|&c| c != start)
            .unwrap_or(text.len());
        let advance = pos.x_advance as f32 / em;
        width += advance;
        glyphs.push(KrillaGlyph::new(
            GlyphId::new(info.glyph_id),
            advance,
            pos.x_offset as f32 / em,
            pos.y_offset as f32 / em,
            pos.y_advance as f32 / em,
            start..end.max(start),
            None,
        ));
    }
    Run {
        font: face.pdf.clone(),
        glyphs,
        text,
        width,
    }
}

/// The width of `text` at size 1.
pub fn width(text: &str) -> f32 {
    shape(text).iter().map(|r| r.width).sum()
}

/// The byte range of `text` that fits in `max` at size 1, cut at a character boundary.
pub fn fitting(text: &str, max: f32) -> Range<usize> {
    let mut used = 0.0;
    for (i, c) in text.char_indices() {
        used += width(c.encode_utf8(&mut [0; 4]));
        if used > max {
            return 0..i;
        }
    }
    0..text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_greek_cyrillic_in_one_run_cjk_in_its_own() {
        let runs = shape("Zoë Ωμέγα Жанна 山田太郎 Ltd");
        let texts: Vec<&str> = runs.iter().map(|r| r.text).collect();
        assert_eq!(texts, ["Zoë Ωμέγα Жанна ", "山田太郎 ", "Ltd"]);
        assert!(runs.iter().all(|r| r.width > 0.0));
        // Every glyph the main font shows is a real one, not the empty box.
        assert!(runs[0].glyphs.iter().all(|g| g.glyph_id.to_u32() != 0));
        assert!(runs[1].glyphs.iter().all(|g| g.glyph_id.to_u32() != 0));
    }

    #[test]
    fn nothing_panics_on_odd_text() {
        for t in [
            "",
            "\u{0}",
            "\u{202e}abc",
            "👍🏽",
            "ﷺ",
            "a\u{301}\u{301}\u{301}",
        ] {
            let _ = shape(t);
        }
        assert!(fitting("abcdef", 1.0).end < 6);
        assert_eq!(fitting("ab", 100.0), 0..2);
    }
}
