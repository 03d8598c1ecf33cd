//! A small, safe reader for the Python pickles that hold ImageNet16's batches: a dict with a
//! numpy `uint8` array under `data` and a list of ints under `labels`.
//!
//! It runs the pickle opcodes those files use (protocols 2–5, as written by Python 2's cPickle
//! or re-pickled by Python 3) on a stack machine, and understands exactly the callables that
//! rebuild numpy arrays (`numpy.core.multiarray._reconstruct` + BUILD, `numpy.core.numeric.
//! _frombuffer`, `numpy.dtype`, under `numpy.core` or numpy 2's `numpy._core`) and the ones
//! Python 3 uses for bytes under protocol 2 (`_codecs.encode`, `bytes`, `bytearray`). It never
//! imports or calls anything else: any other callable or opcode is an error naming it.
//!
//! Large payloads (the image bytes) are reference-counted, so memoizing them costs nothing.

use std::collections::HashMap;
use std::rc::Rc;

/// A decoded Python value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Python 2 `str` or Python 3 `bytes`/`bytearray`.
    Bytes(Rc<[u8]>),
    /// Python `str` (unicode), shared like bytes: protocol-2 pickles from Python 3 carry array
    /// payloads as text.
    Str(Rc<str>),
    /// A long Python `str` whose characters are all at most U+00FF, kept as its latin-1 bytes: how
    /// Python 3's protocol-2 pickles carry array payloads (`_codecs.encode(text, 'latin1')`), and
    /// decoding them once on reading is several times faster than validating UTF-8 and then
    /// encoding.
    Latin1(Rc<[u8]>),
    List(Vec<Value>),
    Tuple(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    /// A global reference `module.name`, only as a callable for REDUCE.
    Global(String, String),
    Dtype(Dtype),
    Array(Array),
    /// `_reconstruct(...)` before its BUILD.
    EmptyArray,
    /// The MARK opcode's stack marker; never part of a finished value.
    Mark,
}

/// A numpy dtype of fixed-size scalars, e.g. `|u1` or `<i8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dtype {
    /// numpy's kind letter: `u` unsigned, `i` signed, `f` float, `b` bool, …
    pub kind: char,
    /// Bytes per element.
    pub size: usize,
    /// Byte order of multi-byte elements (numpy pickles `<` or `>`; `|` for single bytes).
    pub big_endian: bool,
}

impl std::fmt::Display for Dtype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let order = if self.size == 1 {
            '|'
        } else if self.big_endian {
            '>'
        } else {
            '<'
        };
        write!(f, "{order}{}{}", self.kind, self.size)
    }
}

impl Dtype {
    /// Parses numpy's type string (`u1`, `<i8`, `f8`, …), as `numpy.dtype`'s first argument.
    fn parse(descr: &str) -> Option<Dtype> {
        let (big_endian, rest) = match descr.as_bytes().first()? {
            b'>' => (true, &descr[1..]),
            b'<' | b'|' | b'=' => (false, &descr[1..]),
            _ => (false, descr),
        };
        let mut chars = rest.chars();
        let kind = chars.next().filter(char::is_ascii_alphabetic)?;
        let size = chars.as_str().parse().ok().filter(|&s| s > 0)?;
        Some(Dtype { kind, size, big_endian })
    }
}

/// A numpy array: C-ordered raw bytes of `shape` elements of `dtype`.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    pub data: Rc<[u8]>,
}

impl Array {
    /// The elements as integers, for integer and bool dtypes.
    pub fn ints(&self) -> Option<Vec<i64>> {
        if !matches!(self.dtype.kind, 'i' | 'u' | 'b') || ![1, 2, 4, 8].contains(&self.dtype.size) {
            return None;
        }
        let signed = self.dtype.kind == 'i';
        let size = self.dtype.size;
        let decode = |chunk: &[u8]| {
            let mut le = [0u8; 8];
            le[..size].copy_from_slice(chunk);
            if self.dtype.big_endian {
                le[..size].reverse();
            }
            let negative = signed && le[size - 1] & 0x80 != 0;
            le[size..].fill(if negative { 0xff } else { 0 });
            i64::from_le_bytes(le)
        };
        if self.dtype.kind == 'u' && size == 8 && self.data.chunks_exact(8).any(|c| decode(c) < 0) {
            return None; // a uint64 beyond i64::MAX
        }
        Some(self.data.chunks_exact(size).map(decode).collect())
    }
}

impl Value {
    /// Looks a key up in a dict whose keys are `str` or bytes.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(items) => items.iter().find_map(|(k, v)| match k {
                Value::Str(s) if &**s == key => Some(v),
                Value::Bytes(b) if &b[..] == key.as_bytes() => Some(v),
                _ => None,
            }),
            _ => None,
        }
    }

    /// The integers of a list/tuple of ints, or of an integer numpy array.
    pub fn as_ints(&self) -> Option<Vec<i64>> {
        match self {
            Value::List(items) | Value::Tuple(items) => items
                .iter()
                .map(|v| match v {
                    Value::Int(i) => Some(*i),
                    _ => None,
                })
                .collect(),
            Value::Array(array) => array.ints(),
            _ => None,
        }
    }

    /// A short description for error messages: the Python type, not the contents.
    pub fn kind(&self) -> String {
        match self {
            Value::None => "None".into(),
            Value::Bool(_) => "a bool".into(),
            Value::Int(_) => "an int".into(),
            Value::Float(_) => "a float".into(),
            Value::Bytes(b) => format!("{} bytes", b.len()),
            Value::Str(_) => "a str".into(),
            Value::Latin1(t) => format!("a str of {} characters", t.len()),
            Value::List(l) => format!("a list of {}", l.len()),
            Value::Tuple(t) => format!("a tuple of {}", t.len()),
            Value::Dict(_) => "a dict".into(),
            Value::Global(m, n) => format!("the global {m}.{n}"),
            Value::Dtype(d) => format!("the dtype {d}"),
            Value::Array(a) => format!("a {} array of shape {:?}", a.dtype, a.shape),
            Value::EmptyArray => "an unfinished numpy array".into(),
            Value::Mark => "a MARK".into(),
        }
    }
}

/// Why a pickle could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("pickle byte {offset}: {message}")]
pub struct PickleError {
    pub offset: usize,
    pub message: String,
}

/// The name of a pickle opcode, for error messages about the ones this reader does not run.
fn opcode_name(op: u8) -> &'static str {
    match op {
        b'S' => "STRING",
        b'V' => "UNICODE",
        b'F' => "FLOAT",
        b'L' => "LONG",
        0x8b => "LONG4",
        b'l' => "LIST",
        b'd' => "DICT",
        b'i' => "INST",
        b'o' => "OBJ",
        0x81 => "NEWOBJ",
        0x92 => "NEWOBJ_EX",
        b'P' => "PERSID",
        b'Q' => "BINPERSID",
        0x82..=0x84 => "EXT1/EXT2/EXT4",
        0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        0x97 => "NEXT_BUFFER (an out-of-band buffer, which a file cannot hold)",
        0x98 => "READONLY_BUFFER",
        b'p' => "PUT",
        b'g' => "GET",
        _ => "unknown",
    }
}

struct Machine<'a> {
    bytes: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    memo: HashMap<u32, Value>,
}

impl<'a> Machine<'a> {
    fn err(&self, message: impl Into<String>) -> PickleError {
        PickleError { offset: self.pos, message: message.into() }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PickleError> {
        // Compared against what is left, not `pos + n`: a forged 64-bit length must not overflow.
        if n > self.bytes.len() - self.pos {
            return Err(self.err(format!(
                "truncated: an item needs {n} byte(s), only {} remain in the file",
                self.bytes.len() - self.pos
            )));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], PickleError> {
        Ok(self.take(N)?.try_into().expect("take returns N bytes"))
    }

    fn u8(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<usize, PickleError> {
        Ok(u16::from_le_bytes(self.array()?) as usize)
    }

    fn u32(&mut self) -> Result<usize, PickleError> {
        Ok(u32::from_le_bytes(self.array()?) as usize)
    }

    fn u64(&mut self) -> Result<usize, PickleError> {
        let n = u64::from_le_bytes(self.array()?);
        usize::try_from(n).map_err(|_| self.err(format!("length {n} does not fit in memory")))
    }

    fn line(&mut self) -> Result<String, PickleError> {
        let start = self.pos;
        let end =
            self.bytes[start..].iter().position(|&b| b == b'\n').ok_or_else(|| self.err("unterminated text line"))?;
        self.pos = start + end + 1;
        Ok(String::from_utf8_lossy(&self.bytes[start..start + end]).into_owned())
    }

    /// A unicode string of `n` UTF-8 bytes; long ones that fit latin-1 become [`Value::Latin1`].
    fn text(&mut self, n: usize) -> Result<Value, PickleError> {
        let bytes = self.take(n)?;
        if n >= LONG_TEXT {
            if let Some(latin1) = utf8_to_latin1(bytes) {
                return Ok(Value::Latin1(Rc::from(latin1)));
            }
        }
        std::str::from_utf8(bytes)
            .map(|s| Value::Str(Rc::from(s)))
            .map_err(|_| self.err("a unicode string is not valid UTF-8"))
    }

    fn pop(&mut self) -> Result<Value, PickleError> {
        self.stack.pop().ok_or_else(|| self.err("stack underflow"))
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>, PickleError> {
        let mark =
            self.stack.iter().rposition(|v| *v == Value::Mark).ok_or_else(|| self.err("no MARK on the stack"))?;
        let items = self.stack.split_off(mark + 1);
        self.stack.pop();
        Ok(items)
    }

    fn top_mut(&mut self) -> Result<&mut Value, PickleError> {
        let pos = self.pos;
        self.stack.last_mut().ok_or(PickleError { offset: pos, message: "stack underflow".into() })
    }

    fn memoize(&mut self, key: u32) -> Result<(), PickleError> {
        let v = self.stack.last().cloned().ok_or_else(|| self.err("memoizing from an empty stack"))?;
        self.memo.insert(key, v);
        Ok(())
    }

    fn run(mut self) -> Result<Value, PickleError> {
        loop {
            let op = self.u8()?;
            let value = match op {
                0x80 => {
                    let proto = self.u8()?;
                    if proto > 5 {
                        return Err(self.err(format!("pickle protocol {proto} is newer than 5, the newest known")));
                    }
                    continue;
                }
                0x95 => {
                    self.u64()?; // FRAME: a length hint only
                    continue;
                }
                b'.' => {
                    let v = self.pop()?;
                    return if v == Value::Mark { Err(self.err("STOP with a MARK on top")) } else { Ok(v) };
                }
                b'(' => Value::Mark,
                b'}' => Value::Dict(Vec::new()),
                b']' => Value::List(Vec::new()),
                b')' => Value::Tuple(Vec::new()),
                b'N' => Value::None,
                0x88 => Value::Bool(true),
                0x89 => Value::Bool(false),
                b'K' => Value::Int(self.u8()? as i64),
                b'M' => Value::Int(self.u16()? as i64),
                b'J' => Value::Int(i32::from_le_bytes(self.array()?) as i64),
                0x8a => {
                    let n = self.u8()? as usize;
                    let bytes = self.take(n)?;
                    if n > 8 {
                        return Err(self.err("LONG1 integer wider than 64 bits"));
                    }
                    let negative = bytes.last().is_some_and(|&b| b & 0x80 != 0);
                    let mut buf = [if negative { 0xff } else { 0 }; 8];
                    buf[..n].copy_from_slice(bytes);
                    Value::Int(i64::from_le_bytes(buf))
                }
                b'I' => {
                    let line = self.line()?;
                    match line.as_str() {
                        "00" => Value::Bool(false),
                        "01" => Value::Bool(true),
                        s => Value::Int(s.parse().map_err(|_| self.err(format!("bad INT {s:?}")))?),
                    }
                }
                b'G' => Value::Float(f64::from_be_bytes(self.array()?)),
                // SHORT_BINSTRING, SHORT_BINBYTES: one length byte.
                b'U' | b'C' => {
                    let n = self.u8()? as usize;
                    Value::Bytes(Rc::from(self.take(n)?))
                }
                // BINSTRING (a Python 2 `str`, read as latin-1 bytes), BINBYTES: four length bytes.
                b'T' | b'B' => {
                    let n = self.u32()?;
                    Value::Bytes(Rc::from(self.take(n)?))
                }
                // BINBYTES8, BYTEARRAY8: eight length bytes.
                0x8e | 0x96 => {
                    let n = self.u64()?;
                    Value::Bytes(Rc::from(self.take(n)?))
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    self.text(n)?
                }
                b'X' => {
                    let n = self.u32()?;
                    self.text(n)?
                }
                0x8d => {
                    let n = self.u64()?;
                    self.text(n)?
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    Value::Global(module, name)
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(m), Value::Str(n)) => Value::Global(m.to_string(), n.to_string()),
                        _ => return Err(self.err("STACK_GLOBAL needs two strings")),
                    }
                }
                b'q' => {
                    let key = self.u8()? as u32;
                    self.memoize(key)?;
                    continue;
                }
                b'r' => {
                    let key = self.u32()? as u32;
                    self.memoize(key)?;
                    continue;
                }
                0x94 => {
                    self.memoize(self.memo.len() as u32)?;
                    continue;
                }
                b'h' | b'j' => {
                    let k = if op == b'h' { self.u8()? as u32 } else { self.u32()? as u32 };
                    self.memo.get(&k).cloned().ok_or_else(|| self.err(format!("memo key {k} is not set")))?
                }
                b'0' => {
                    self.pop()?;
                    continue;
                }
                b'1' => {
                    self.pop_mark()?;
                    continue;
                }
                b'2' => self.stack.last().cloned().ok_or_else(|| self.err("DUP on an empty stack"))?,
                b't' => Value::Tuple(self.pop_mark()?),
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    if self.stack.len() < n {
                        return Err(self.err("stack underflow in TUPLEn"));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    if items.contains(&Value::Mark) {
                        return Err(self.err("TUPLEn over a MARK"));
                    }
                    Value::Tuple(items)
                }
                b'a' => {
                    let v = self.pop()?;
                    match self.top_mut()? {
                        Value::List(l) => l.push(v),
                        _ => return Err(self.err("APPEND to a non-list")),
                    }
                    continue;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    match self.top_mut()? {
                        Value::List(l) => l.extend(items),
                        _ => return Err(self.err("APPENDS to a non-list")),
                    }
                    continue;
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    match self.top_mut()? {
                        Value::Dict(d) => d.push((k, v)),
                        _ => return Err(self.err("SETITEM on a non-dict")),
                    }
                    continue;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    if items.len() % 2 != 0 {
                        return Err(self.err("SETITEMS with an odd number of items"));
                    }
                    let mut it = items.into_iter();
                    let mut pairs = Vec::new();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        pairs.push((k, v));
                    }
                    match self.top_mut()? {
                        Value::Dict(d) => d.extend(pairs),
                        _ => return Err(self.err("SETITEMS on a non-dict")),
                    }
                    continue;
                }
                b'R' => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    self.reduce(callable, args)?
                }
                b'b' => {
                    let state = self.pop()?;
                    let target = self.pop()?;
                    self.build(target, state)?
                }
                other => {
                    return Err(self.err(format!(
                        "unsupported pickle opcode 0x{other:02x} ({}); dataset batches use only protocol 2–5 \
                         opcodes for dicts, lists, ints, strings, bytes and numpy arrays",
                        opcode_name(other)
                    )))
                }
            };
            self.stack.push(value);
        }
    }

    fn reduce(&self, callable: Value, args: Value) -> Result<Value, PickleError> {
        let Value::Global(module, name) = callable else {
            return Err(self.err(format!("REDUCE on {}, not a global", callable.kind())));
        };
        let Value::Tuple(args) = args else { return Err(self.err("REDUCE arguments are not a tuple")) };
        let numpy = |m: &str| matches!(m, "numpy.core.multiarray" | "numpy._core.multiarray");
        let numeric = |m: &str| matches!(m, "numpy.core.numeric" | "numpy._core.numeric");
        match (module.as_str(), name.as_str()) {
            (m, "_reconstruct") if numpy(m) => Ok(Value::EmptyArray),
            ("numpy", "dtype") => {
                let descr = match args.first() {
                    Some(Value::Str(s)) => s.to_string(),
                    Some(Value::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
                    _ => return Err(self.err("numpy.dtype without a type string")),
                };
                Dtype::parse(&descr)
                    .map(Value::Dtype)
                    .ok_or_else(|| self.err(format!("numpy dtype {descr:?} is not a fixed-size scalar type")))
            }
            (m, "_frombuffer") if numeric(m) => match args.as_slice() {
                [Value::Bytes(data), Value::Dtype(dtype), Value::Tuple(shape), order] => {
                    let shape = self.shape(shape)?;
                    if matches!(order, Value::Str(o) if &**o == "F") && shape.len() > 1 {
                        return Err(self.err("Fortran-ordered arrays are not supported"));
                    }
                    self.finish_array(*dtype, shape, data.clone())
                }
                _ => Err(self.err("numpy _frombuffer with arguments other than (buffer, dtype, shape, order)")),
            },
            // Python 3 writes bytes under protocol 2 as `_codecs.encode(latin-1 text, 'latin1')`.
            ("_codecs", "encode") => match args.as_slice() {
                [Value::Latin1(bytes), Value::Str(encoding)] if matches!(&**encoding, "latin1" | "latin-1") => {
                    Ok(Value::Bytes(bytes.clone()))
                }
                [Value::Str(text), Value::Str(encoding)] if matches!(&**encoding, "latin1" | "latin-1") => {
                    self.latin1(text)
                }
                _ => Err(self.err("_codecs.encode with arguments other than (text, 'latin1')")),
            },
            ("__builtin__" | "builtins", "bytes" | "bytearray") => match args.as_slice() {
                [] => Ok(Value::Bytes(Rc::from(&[][..]))),
                [Value::Bytes(b)] => Ok(Value::Bytes(b.clone())),
                [Value::Latin1(bytes), Value::Str(encoding)] if matches!(&**encoding, "latin1" | "latin-1") => {
                    Ok(Value::Bytes(bytes.clone()))
                }
                [Value::Str(text), Value::Str(encoding)] if matches!(&**encoding, "latin1" | "latin-1") => {
                    self.latin1(text)
                }
                _ => Err(self.err(format!("{name} with unexpected arguments"))),
            },
            _ => Err(self.err(format!(
                "refusing to call {module}.{name}: only numpy array reconstruction is supported in dataset pickles"
            ))),
        }
    }

    /// `text.encode('latin-1')`.
    fn latin1(&self, text: &str) -> Result<Value, PickleError> {
        utf8_to_latin1(text.as_bytes())
            .map(|b| Value::Bytes(Rc::from(b)))
            .ok_or_else(|| self.err("latin-1 encoding of text with characters beyond U+00FF"))
    }

    fn shape(&self, items: &[Value]) -> Result<Vec<usize>, PickleError> {
        items
            .iter()
            .map(|v| match v {
                Value::Int(i) => usize::try_from(*i).ok(),
                _ => None,
            })
            .collect::<Option<_>>()
            .ok_or_else(|| self.err("array shape is not a tuple of non-negative ints"))
    }

    fn finish_array(&self, dtype: Dtype, shape: Vec<usize>, data: Rc<[u8]>) -> Result<Value, PickleError> {
        let expected = shape.iter().try_fold(dtype.size, |acc, &d| acc.checked_mul(d));
        if expected != Some(data.len()) {
            return Err(self.err(format!(
                "a {dtype} array of shape {shape:?} needs {} bytes, the pickle holds {}",
                expected.map_or_else(|| "too many".to_string(), |e| e.to_string()),
                data.len()
            )));
        }
        Ok(Value::Array(Array { dtype, shape, data }))
    }

    fn build(&self, target: Value, state: Value) -> Result<Value, PickleError> {
        match target {
            // numpy's dtype state: (version, byte order, subarray, names, fields, elsize, alignment, flags[, metadata]).
            Value::Dtype(mut dtype) => {
                if let Value::Tuple(items) = &state {
                    match items.get(1) {
                        Some(Value::Str(order)) if &**order == ">" => dtype.big_endian = true,
                        Some(Value::Bytes(order)) if &order[..] == b">" => dtype.big_endian = true,
                        Some(Value::Str(_) | Value::Bytes(_)) => dtype.big_endian = false,
                        _ => return Err(self.err("numpy dtype state without a byte order")),
                    }
                }
                Ok(Value::Dtype(dtype))
            }
            Value::EmptyArray => {
                let Value::Tuple(items) = state else { return Err(self.err("ndarray state is not a tuple")) };
                // (version, shape, dtype, is_fortran, rawdata); numpy before 1.0 left out the version.
                let fields = match items.as_slice() {
                    [_, rest @ ..] if rest.len() == 4 => rest,
                    all => all,
                };
                let [Value::Tuple(shape), Value::Dtype(dtype), fortran, raw] = fields else {
                    return Err(self.err("ndarray state is not (version, shape, dtype, is_fortran, raw bytes)"));
                };
                let data = match raw {
                    Value::Bytes(b) | Value::Latin1(b) => b.clone(),
                    // A Python 2 `unicode` payload read with encoding='latin1' arrives as text.
                    Value::Str(text) => match self.latin1(text)? {
                        Value::Bytes(b) => b,
                        _ => unreachable!("latin1 returns bytes"),
                    },
                    other => {
                        return Err(self.err(format!(
                            "ndarray payload is {} (an object array?); only numeric arrays are supported",
                            other.kind()
                        )))
                    }
                };
                let shape = self.shape(shape)?;
                if matches!(fortran, Value::Bool(true) | Value::Int(1)) && shape.len() > 1 {
                    return Err(self.err("Fortran-ordered arrays are not supported"));
                }
                self.finish_array(*dtype, shape, data)
            }
            other => Err(self.err(format!("BUILD on {}; only numpy arrays and dtypes are rebuilt", other.kind()))),
        }
    }
}

/// Text at least this long is tried as latin-1 first (see [`Value::Latin1`]).
const LONG_TEXT: usize = 4096;

/// The latin-1 bytes of UTF-8 text whose characters are all at most U+00FF (one byte below 0x80,
/// or C2/C3 and a continuation byte), or `None` for any other text.
///
/// Branch-free per character, because payload text is random-looking image bytes: a byte from
/// 0x80 up must be C2/C3 followed by a continuation byte, and any byte out of place sets a flag
/// checked once at the end.
fn utf8_to_latin1(utf8: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(utf8.len());
    let mut bad = false;
    let mut at = 0;
    while at < utf8.len() {
        let b = utf8[at];
        let next = utf8.get(at + 1).copied().unwrap_or(0);
        let wide = b >= 0x80;
        bad |= wide & ((b & 0xfe != 0xc2) | (next & 0xc0 != 0x80));
        out.push(if wide { ((b & 0x03) << 6) | (next & 0x3f) } else { b });
        at += 1 + usize::from(wide);
    }
    (!bad).then_some(out)
}

/// Decodes a pickle.
pub fn load(bytes: &[u8]) -> Result<Value, PickleError> {
    Machine { bytes, pos: 0, stack: Vec::new(), memo: HashMap::new() }.run()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_other_callables_and_opcodes() {
        // cos\nsystem\n(S'echo'\ntR.  — protocol 0's classic exploit, with SHORT_BINSTRING.
        let evil = b"cos\nsystem\n(U\x04echotR.";
        let e = load(evil).unwrap_err();
        assert!(e.message.contains("refusing to call os.system"), "{e}");
        // NEWOBJ, with a class that could run code.
        let e = load(b"\x80\x02cbuiltins\nobject\n)\x81.").unwrap_err();
        assert!(e.message.contains("0x81 (NEWOBJ)"), "{e}");
        assert!(load(b"\x80\x06.").unwrap_err().message.contains("protocol 6"));
    }

    #[test]
    fn truncated_and_forged_lengths_are_errors() {
        assert!(load(b"\x80\x02}q\x00").unwrap_err().message.contains("truncated"));
        // BINBYTES8 claiming 2^64 − 1 bytes must not overflow or allocate.
        let e = load(b"\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\xff.").unwrap_err();
        assert!(e.message.contains("truncated") || e.message.contains("memory"), "{e}");
    }

    #[test]
    fn small_values() {
        // Protocol 2: {'a': [1, 300, -2], 'b': (True, None)}
        let bytes = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01M,\x01J\xfe\xff\xff\xffeX\x01\x00\x00\x00bq\x03\x88N\x86q\x04u.";
        let v = load(bytes).unwrap();
        assert_eq!(v.get("a").unwrap().as_ints(), Some(vec![1, 300, -2]));
        assert_eq!(v.get("b"), Some(&Value::Tuple(vec![Value::Bool(true), Value::None])));
    }

    #[test]
    fn latin1_text_decodes_and_rejects_other_text() {
        let text: String = (0..=255u8).map(char::from).collect();
        assert_eq!(utf8_to_latin1(text.as_bytes()), Some((0..=255u8).collect()));
        for other in ["€", "\u{100}", "a\u{ff}\u{2028}"] {
            assert_eq!(utf8_to_latin1(other.as_bytes()), None, "{other:?}");
        }
        // Malformed sequences: a lone continuation, a lead at the end, an overlong C0 80.
        for bytes in [&[0x80][..], &[b'a', 0xc3], &[0xc0, 0x80]] {
            assert_eq!(utf8_to_latin1(bytes), None, "{bytes:?}");
        }
    }

    #[test]
    fn big_endian_integer_arrays_and_byte_counts() {
        // numpy.frombuffer(b'\x00\x00\x01\x02\xff\xff\xff\xfe', '>i4') pickled at protocol 5 by hand:
        // _frombuffer(bytearray, dtype('i4') with state byte order '>', (count,), 'C').
        let pickle = |count: u8| {
            let mut p =
                b"\x80\x05\x8c\x13numpy._core.numeric\x8c\x0b_frombuffer\x93(\x96\x08\x00\x00\x00\x00\x00\x00\x00"
                    .to_vec();
            p.extend_from_slice(b"\x00\x00\x01\x02\xff\xff\xff\xfe");
            p.extend_from_slice(b"\x8c\x05numpy\x8c\x05dtype\x93\x8c\x02i4\x89\x88\x87R(K\x03\x8c\x01>NNN");
            p.extend_from_slice(b"J\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tbK");
            p.extend_from_slice(&[count, 0x85]);
            p.extend_from_slice(b"\x8c\x01CtR.");
            p
        };
        assert_eq!(load(&pickle(2)).unwrap().as_ints(), Some(vec![258, -2]));
        // Three elements would need 12 bytes; the buffer holds 8.
        let e = load(&pickle(3)).unwrap_err();
        assert!(e.message.contains("needs 12 bytes, the pickle holds 8"), "{e}");
    }
}
