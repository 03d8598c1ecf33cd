//! The one error type of experiment scripts, and the translation of Rhai's errors into it.
//!
//! Every error that comes from a script names where it happened as `file:line:column` — also when
//! it happened inside an imported module (built-in `stdlib/…` or a user file) or inside a closure
//! that the run loop called long after the script was evaluated. Rhai reports such errors as a
//! chain (`ErrorInFunctionCall` / `ErrorInModule` wrapping the real error), where each link's
//! position is relative to a different source; [`from_rhai`] walks the chain, keeps track of which
//! file each position belongs to, and reports the innermost position first, with the calls that
//! led there as a trace.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use rhai::{EvalAltResult, NativeCallContext, ParseError, Position};

/// A place in a script: the file as the user named it (or `stdlib/<name>.rhai` for a built-in
/// module), and the 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl Location {
    /// The location of a Rhai position in `file`; `None` for [`Position::NONE`].
    pub fn from_position(file: &str, position: Position) -> Option<Location> {
        Some(Location { file: file.to_string(), line: position.line()?, column: position.position().unwrap_or(1) })
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Why a script could not be compiled, evaluated, turned into an experiment or called.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScriptError {
    /// The script file (or a file it imports) cannot be read.
    #[error("cannot read script {}: {message}", path.display())]
    Read { path: PathBuf, message: String },

    /// The text is not valid Rhai.
    #[error("{location}: syntax error: {message}")]
    Syntax { location: Location, message: String },

    /// The script failed while running: an unknown function or variable, a type error, an
    /// exceeded limit (endless loop), an invalid setting passed to `exp.training(…)`, …
    /// `trace` lists the calls that led there, innermost first.
    #[error("{location}: {message}{}", render_trace(trace))]
    Runtime { location: Location, message: String, trace: Vec<String> },

    /// An error without a position in a script: `file` is the script (or `--set` for an override).
    #[error("{file}: {message}")]
    Experiment { file: String, message: String },

    /// An objective did not produce a finite number. `location` is where the objective was
    /// declared (or where its closure failed).
    #[error("{location}: objective {name:?} {message}{}", render_trace(trace))]
    Objective { name: String, location: Location, message: String, trace: Vec<String> },

    /// A setting name that does not exist (in a script section or a `--set` override).
    #[error("{at}: unknown setting {key:?}; valid keys: {}", valid.join(", "))]
    UnknownKey { at: String, key: String, valid: Vec<String> },

    /// A scoring function needed data that is not on this machine: the WordNet database (the
    /// dry run refuses it: every record would fail to score) or a dataset file, the ImageNet16
    /// wnid list (`dataset_file`: the data check refuses it before a local run; the dry run of a
    /// script alone only warns, as it does not check the data).
    #[error("{location}: {message}")]
    DataUnavailable { location: Location, message: String, dataset_file: bool },
}

fn render_trace(trace: &[String]) -> String {
    trace.iter().map(|line| format!("\n  {line}")).collect()
}

impl ScriptError {
    /// Where in a script the error happened, if it has a position.
    pub fn location(&self) -> Option<&Location> {
        match self {
            ScriptError::Syntax { location, .. }
            | ScriptError::Runtime { location, .. }
            | ScriptError::Objective { location, .. }
            | ScriptError::DataUnavailable { location, .. } => Some(location),
            _ => None,
        }
    }

    /// Adds a line of context (e.g. "in objective \"accuracy\" declared at …") to the trace.
    pub(crate) fn with_context(mut self, line: String) -> ScriptError {
        if let ScriptError::Runtime { trace, .. } | ScriptError::Objective { trace, .. } = &mut self {
            trace.push(line);
        }
        self
    }
}

/// A Rhai runtime error carrying this payload becomes [`ScriptError::DataUnavailable`]; the flag
/// says whether the missing data is a dataset file.
#[derive(Debug, Clone)]
pub(crate) struct DataUnavailable(pub String, pub bool);

/// The token of a script stopped for running past its wall-clock budget (see `engine`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct OutOfTime(pub Duration);

/// What a registered function returns to Rhai.
pub(crate) type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// A Rhai error raised by a registered function: `message` at the caller's position.
pub(crate) fn runtime_error(message: impl Into<String>, position: Position) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(message.into().into(), position).into()
}

/// Fails the registered function `function` with `function: message` at the caller's position.
pub(crate) fn fail<T>(ctx: &NativeCallContext, function: &str, message: impl fmt::Display) -> RhaiResult<T> {
    Err(runtime_error(format!("{function}: {message}"), ctx.call_position()))
}

/// A syntax error in `file`.
pub(crate) fn from_parse(error: &ParseError, file: &str) -> ScriptError {
    let location = Location::from_position(file, error.position()).unwrap_or(Location {
        file: file.to_string(),
        line: 1,
        column: 1,
    });
    ScriptError::Syntax { location, message: syntax_message(error.err_type()) }
}

/// A syntax error's message; `eval`, which the engine disables, is explained.
fn syntax_message(kind: &rhai::ParseErrorType) -> String {
    match kind {
        rhai::ParseErrorType::BadInput(rhai::LexError::ImproperSymbol(symbol, _)) if symbol == "eval" => {
            "`eval` is not available to scripts: code made from strings at run time would not be part of the \
             stored script version; call a function, or import a module from the script's folder"
                .to_string()
        }
        other => other.to_string(),
    }
}

/// Translates a Rhai error raised while running code of `file`. `fallback` is used when the
/// error itself has no position (a call made from Rust, e.g. an objective's closure called with
/// the wrong number of arguments).
pub(crate) fn from_rhai(
    error: EvalAltResult,
    file: &str,
    fallback: Option<&Location>,
    max_operations: u64,
) -> ScriptError {
    let mut file = file.to_string();
    let mut calls = Vec::new();
    let mut error = error;
    loop {
        match error {
            EvalAltResult::ErrorInFunctionCall(name, source, inner, position) => {
                if let Some(at) = Location::from_position(&file, position) {
                    calls.push(format!("in {} called at {at}", describe_function(&name)));
                } else {
                    calls.push(format!("in {}", describe_function(&name)));
                }
                if !source.is_empty() {
                    file = source;
                }
                error = *inner;
            }
            EvalAltResult::ErrorInModule(path, inner, position) => {
                match Location::from_position(&file, position) {
                    Some(at) => calls.push(format!("in module {path} imported at {at}")),
                    None => calls.push(format!("in module {path}")),
                }
                file = path;
                error = *inner;
            }
            leaf => {
                calls.reverse();
                return leaf_error(leaf, &file, fallback, calls, max_operations);
            }
        }
    }
}

/// The error at the end of a chain of calls and imports: what actually went wrong.
pub(crate) fn innermost(error: &EvalAltResult) -> &EvalAltResult {
    match error {
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _) | EvalAltResult::ErrorInModule(_, inner, _) => {
            innermost(inner)
        }
        leaf => leaf,
    }
}

fn describe_function(name: &str) -> String {
    if name.starts_with("anon$") {
        "a closure".to_string()
    } else {
        format!("function {name}")
    }
}

fn leaf_error(
    mut leaf: EvalAltResult,
    file: &str,
    fallback: Option<&Location>,
    trace: Vec<String>,
    max_operations: u64,
) -> ScriptError {
    let position = leaf.take_position();
    let location = Location::from_position(file, position).or_else(|| fallback.cloned()).unwrap_or(Location {
        file: file.to_string(),
        line: 1,
        column: 1,
    });
    let message = match &leaf {
        EvalAltResult::ErrorParsing(kind, _) => {
            return ScriptError::Syntax { location, message: syntax_message(kind) };
        }
        EvalAltResult::ErrorRuntime(payload, _) if payload.is::<DataUnavailable>() => {
            let DataUnavailable(message, dataset_file) = payload.clone().cast::<DataUnavailable>();
            return ScriptError::DataUnavailable { location, message, dataset_file };
        }
        EvalAltResult::ErrorRuntime(payload, _) => payload.to_string(),
        EvalAltResult::ErrorTerminated(token, _) if token.is::<OutOfTime>() => format!(
            "the script ran longer than {} s without finishing (an endless loop, or data growing without \
             bound?) and was stopped",
            token.clone().cast::<OutOfTime>().0.as_secs_f64()
        ),
        EvalAltResult::ErrorTooManyOperations(_) => format!(
            "the script ran more than {max_operations} operations without finishing (an endless loop?) and was stopped"
        ),
        EvalAltResult::ErrorStackOverflow(_) => {
            "too many nested calls (endless recursion?); the script was stopped".to_string()
        }
        EvalAltResult::ErrorFunctionNotFound(signature, _) if signature.starts_with("anon$") => {
            let arguments = signature.split_once(' ').map_or("", |(_, args)| args);
            format!(
                "a closure was called with the arguments {arguments}, but it takes a different number of parameters"
            )
        }
        EvalAltResult::ErrorFunctionNotFound(signature, _) => format!(
            "unknown function {signature}: no function of that name takes arguments of these types \
             (the registered functions are listed in docs/script-api.md)"
        ),
        EvalAltResult::ErrorVariableNotFound(name, _) => format!("unknown variable {name}"),
        EvalAltResult::ErrorModuleNotFound(name, _) => format!(
            "unknown module {name:?}: import built-in modules as \"xnas/<name>\" (see docs/script-api.md) \
             and your own files by a path relative to the importing script"
        ),
        EvalAltResult::ErrorPropertyNotFound(name, _) => format!("no property {name:?} on this value"),
        _ => leaf.to_string(),
    };
    ScriptError::Runtime { location, message, trace }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_report_the_innermost_position_in_its_own_file() {
        let inner = EvalAltResult::ErrorFunctionNotFound("nope (i64)".into(), Position::new(3, 9));
        let in_module = EvalAltResult::ErrorInFunctionCall(
            "helper".into(),
            "stdlib/objectives.rhai".into(),
            Box::new(inner),
            Position::new(7, 2),
        );
        let error = from_rhai(in_module, "main.rhai", None, 10);
        let ScriptError::Runtime { location, message, trace } = &error else { panic!("{error:?}") };
        assert_eq!(location.to_string(), "stdlib/objectives.rhai:3:9");
        assert!(message.contains("unknown function nope (i64)"), "{message}");
        assert_eq!(trace, &["in function helper called at main.rhai:7:2".to_string()]);
    }

    #[test]
    fn errors_without_position_use_the_fallback() {
        let fallback = Location { file: "x.rhai".into(), line: 4, column: 1 };
        let error = from_rhai(EvalAltResult::ErrorTooManyOperations(Position::NONE), "x.rhai", Some(&fallback), 5);
        assert_eq!(error.location(), Some(&fallback));
        assert!(error.to_string().contains("more than 5 operations"), "{error}");
    }
}
