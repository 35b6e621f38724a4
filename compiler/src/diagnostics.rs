//! Diagnostics for `.tile` programs: structured values with spans, rendered in one place.
//!
//! Every stage of the front end (lexer, parser, semantic analysis) and the configuration checks
//! of the back end report problems as [`Diagnostic`]s. A diagnostic has a stable code (such as
//! `tilec::shape_mismatch`), a message, one primary label and any number of secondary labels
//! pointing into the source, and optional help and notes. [`render`] formats a list of them
//! with miette, the way rustc formats its errors.

use crate::syntax::ast::Span;
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use std::fmt;
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
    /// The primary label marks where the problem is; secondary ones give context.
    pub primary: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// A stable identifier, `tilec::<kind>`; one per kind of error.
    pub code: &'static str,
    pub message: String,
    pub labels: Vec<Label>,
    pub help: Option<String>,
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// A diagnostic with a primary label at `span`.
    pub fn error(
        code: &'static str,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            labels: vec![Label {
                span,
                message: label.into(),
                primary: true,
            }],
            help: None,
            notes: Vec::new(),
        }
    }

    /// Adds a secondary label.
    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: false,
        });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// The primary span, used to sort diagnostics by position.
    pub fn primary_span(&self) -> Span {
        self.labels
            .iter()
            .find(|l| l.primary)
            .or(self.labels.first())
            .map(|l| l.span)
            .unwrap_or_default()
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

/// A diagnostic joined with its source text, ready for miette's renderer.
struct WithSource<'a> {
    diag: &'a Diagnostic,
    source: NamedSource<Arc<str>>,
    help: Option<String>,
}

impl fmt::Debug for WithSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.diag.fmt(f)
    }
}
impl fmt::Display for WithSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}
impl std::error::Error for WithSource<'_> {}

impl miette::Diagnostic for WithSource<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.diag.code))
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let len = self.source.inner().len();
        Some(Box::new(self.diag.labels.iter().map(move |l| {
            // Clamp so a span at end-of-file still renders.
            let start = l.span.start.min(len);
            let end = l.span.end.clamp(start, len);
            let text = (!l.message.is_empty()).then(|| l.message.clone());
            if l.primary {
                LabeledSpan::new_primary_with_span(text, (start, end - start))
            } else {
                LabeledSpan::new_with_span(text, (start, end - start))
            }
        })))
    }
}

/// Renders diagnostics as text, without colour, in source order: what `tilec` prints on stderr
/// and what the UI tests snapshot.
pub fn render(file_name: &str, source: &str, diagnostics: &[Diagnostic]) -> String {
    render_with(file_name, source, diagnostics, false)
}

/// Like [`render`], with ANSI colours when `color` is set (an interactive terminal).
pub fn render_with(
    file_name: &str,
    source: &str,
    diagnostics: &[Diagnostic],
    color: bool,
) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let source: Arc<str> = Arc::from(source);
    let mut sorted: Vec<&Diagnostic> = diagnostics.iter().collect();
    sorted.sort_by_key(|d| d.primary_span().start);
    let mut out = String::new();
    for d in sorted {
        // miette has one help slot: notes follow the help, each on its own line.
        let mut help = d.help.clone();
        for note in &d.notes {
            let h = help.get_or_insert_with(String::new);
            if !h.is_empty() {
                h.push('\n');
            }
            h.push_str("note: ");
            h.push_str(note);
        }
        let ws = WithSource {
            diag: d,
            source: NamedSource::new(file_name, source.clone()),
            help,
        };
        let mut buf = String::new();
        if handler.render_report(&mut buf, &ws).is_err() {
            buf = format!("error[{}]: {}\n", d.code, d.message);
        }
        out.push_str(&buf);
        out.push('\n');
    }
    let n = diagnostics.len();
    if n > 1 {
        out.push_str(&format!("error: aborting due to {n} previous errors\n"));
    }
    out
}
