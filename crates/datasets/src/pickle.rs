//! A small, safe reader for the Python pickles that hold ImageNet16's batches: a dict with a
//! numpy `uint8` array under `data` and a list of ints under `labels`.
//!
//! It runs the pickle opcodes those files use (protocols 2–5, as written by Python 2's cPickle
//! or re-pickled by Python 3) on a stack machine, and understands exactly the callables that
//! rebuild numpy arrays (`numpy.core.multiarray._reconstruct` + BUILD, `numpy.core.numeric.
//! _frombuffer`, `numpy.dtype`) and Python 3's `_codecs.encode` for protocol-2 bytes. It never
//! imports or calls anything else; any other callable or opcode is an error naming it.

use std::collections::HashMap;

/// A decoded Python value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Python 2 `str` or Python 3 `bytes`/`bytearray`.
    Bytes(Vec<u8>),
    Str(String),
    List(Vec<Value>),
    Tuple(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    /// A global reference `module.name`, only as a callable for REDUCE.
    Global(String, String),
    /// A numpy dtype, e.g. `u1` or `<i8`.
    Dtype(String),
    /// A numpy array: dtype, shape, raw bytes (C order).
    Array { dtype: String, shape: Vec<usize>, data: Vec<u8> },
    /// `_reconstruct(...)` before its BUILD.
    EmptyArray,
    Mark,
}

impl Value {
    /// Looks a key up in a dict whose keys are `str` or bytes.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(items) => items.iter().find_map(|(k, v)| match k {
                Value::Str(s) if s == key => Some(v),
                Value::Bytes(b) if b == key.as_bytes() => Some(v),
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
            Value::Array { dtype, data, .. } => {
                let d = dtype.trim_start_matches(['<', '|', '=']);
                match d {
                    "u1" => Some(data.iter().map(|&b| b as i64).collect()),
                    "i8" => Some(data.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect()),
                    "i4" => Some(data.chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap()) as i64).collect()),
                    "u2" => Some(data.chunks_exact(2).map(|c| u16::from_le_bytes(c.try_into().unwrap()) as i64).collect()),
                    "i2" => Some(data.chunks_exact(2).map(|c| i16::from_le_bytes(c.try_into().unwrap()) as i64).collect()),
                    _ => None,
                }
            }
            _ => None,
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
        if self.pos + n > self.bytes.len() {
            return Err(self.err(format!("truncated: needs {n} more byte(s), the file ends")));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<usize, PickleError> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap()) as usize)
    }

    fn u32(&mut self) -> Result<usize, PickleError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()) as usize)
    }

    fn u64(&mut self) -> Result<usize, PickleError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()) as usize)
    }

    fn line(&mut self) -> Result<String, PickleError> {
        let start = self.pos;
        let end = self.bytes[start..].iter().position(|&b| b == b'\n').ok_or_else(|| self.err("unterminated text line"))?;
        self.pos = start + end + 1;
        Ok(String::from_utf8_lossy(&self.bytes[start..start + end]).into_owned())
    }

    fn pop(&mut self) -> Result<Value, PickleError> {
        self.stack.pop().ok_or_else(|| self.err("stack underflow"))
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>, PickleError> {
        let mark = self.stack.iter().rposition(|v| *v == Value::Mark).ok_or_else(|| self.err("no MARK on the stack"))?;
        let items = self.stack.split_off(mark + 1);
        self.stack.pop();
        Ok(items)
    }

    fn top_mut(&mut self) -> Result<&mut Value, PickleError> {
        let pos = self.pos;
        self.stack.last_mut().ok_or(PickleError { offset: pos, message: "stack underflow".into() })
    }

    fn run(mut self) -> Result<Value, PickleError> {
        loop {
            let op = self.u8()?;
            match op {
                0x80 => {
                    let proto = self.u8()?;
                    if proto > 5 {
                        return Err(self.err(format!("pickle protocol {proto} is newer than 5")));
                    }
                }
                0x95 => {
                    self.u64()?; // FRAME: a length hint only
                }
                b'.' => return self.pop(),
                b'(' => self.stack.push(Value::Mark),
                b'}' => self.stack.push(Value::Dict(Vec::new())),
                b']' => self.stack.push(Value::List(Vec::new())),
                b')' => self.stack.push(Value::Tuple(Vec::new())),
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'K' => {
                    let v = self.u8()? as i64;
                    self.stack.push(Value::Int(v))
                }
                b'M' => {
                    let v = self.u16()? as i64;
                    self.stack.push(Value::Int(v))
                }
                b'J' => {
                    let v = i32::from_le_bytes(self.take(4)?.try_into().unwrap()) as i64;
                    self.stack.push(Value::Int(v))
                }
                0x8a => {
                    let n = self.u8()? as usize;
                    let bytes = self.take(n)?;
                    if n > 8 {
                        return Err(self.err("LONG1 integer wider than 64 bits"));
                    }
                    let negative = bytes.last().is_some_and(|&b| b & 0x80 != 0);
                    let mut buf = [if negative { 0xff } else { 0 }; 8];
                    buf[..n].copy_from_slice(bytes);
                    self.stack.push(Value::Int(i64::from_le_bytes(buf)))
                }
                b'I' => {
                    let line = self.line()?;
                    let v = match line.as_str() {
                        "00" => Value::Bool(false),
                        "01" => Value::Bool(true),
                        s => Value::Int(s.parse().map_err(|_| self.err(format!("bad INT {s:?}")))?),
                    };
                    self.stack.push(v)
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.take(8)?.try_into().unwrap());
                    self.stack.push(Value::Float(v))
                }
                b'U' => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?.to_vec();
                    self.stack.push(Value::Bytes(b))
                }
                b'T' => {
                    let n = self.u32()?;
                    let b = self.take(n)?.to_vec();
                    self.stack.push(Value::Bytes(b))
                }
                b'C' => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?.to_vec();
                    self.stack.push(Value::Bytes(b))
                }
                b'B' => {
                    let n = self.u32()?;
                    let b = self.take(n)?.to_vec();
                    self.stack.push(Value::Bytes(b))
                }
                0x8e | 0x96 => {
                    let n = self.u64()?;
                    let b = self.take(n)?.to_vec();
                    self.stack.push(Value::Bytes(b))
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    let s = String::from_utf8_lossy(self.take(n)?).into_owned();
                    self.stack.push(Value::Str(s))
                }
                b'X' => {
                    let n = self.u32()?;
                    let s = String::from_utf8_lossy(self.take(n)?).into_owned();
                    self.stack.push(Value::Str(s))
                }
                0x8d => {
                    let n = self.u64()?;
                    let s = String::from_utf8_lossy(self.take(n)?).into_owned();
                    self.stack.push(Value::Str(s))
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.stack.push(Value::Global(module, name))
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(m), Value::Str(n)) => self.stack.push(Value::Global(m, n)),
                        _ => return Err(self.err("STACK_GLOBAL needs two strings")),
                    }
                }
                b'q' => {
                    let k = self.u8()? as u32;
                    let v = self.stack.last().cloned().ok_or_else(|| self.err("BINPUT on an empty stack"))?;
                    self.memo.insert(k, v);
                }
                b'r' => {
                    let k = self.u32()? as u32;
                    let v = self.stack.last().cloned().ok_or_else(|| self.err("LONG_BINPUT on an empty stack"))?;
                    self.memo.insert(k, v);
                }
                0x94 => {
                    let k = self.memo.len() as u32;
                    let v = self.stack.last().cloned().ok_or_else(|| self.err("MEMOIZE on an empty stack"))?;
                    self.memo.insert(k, v);
                }
                b'h' | b'j' => {
                    let k = if op == b'h' { self.u8()? as u32 } else { self.u32()? as u32 };
                    let v = self.memo.get(&k).cloned().ok_or_else(|| self.err(format!("memo key {k} is not set")))?;
                    self.stack.push(v)
                }
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Tuple(items))
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    if self.stack.len() < n {
                        return Err(self.err("stack underflow in TUPLEn"));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.stack.push(Value::Tuple(items))
                }
                b'a' => {
                    let v = self.pop()?;
                    match self.top_mut()? {
                        Value::List(l) => l.push(v),
                        _ => return Err(self.err("APPEND to a non-list")),
                    }
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    match self.top_mut()? {
                        Value::List(l) => l.extend(items),
                        _ => return Err(self.err("APPENDS to a non-list")),
                    }
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    match self.top_mut()? {
                        Value::Dict(d) => d.push((k, v)),
                        _ => return Err(self.err("SETITEM on a non-dict")),
                    }
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
                }
                b'R' => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let v = self.reduce(callable, args)?;
                    self.stack.push(v)
                }
                b'b' => {
                    let state = self.pop()?;
                    let target = self.pop()?;
                    let v = self.build(target, state)?;
                    self.stack.push(v)
                }
                other => return Err(self.err(format!("unsupported pickle opcode 0x{other:02x}"))),
            }
        }
    }

    fn reduce(&self, callable: Value, args: Value) -> Result<Value, PickleError> {
        let Value::Global(module, name) = callable else {
            return Err(self.err("REDUCE on something that is not a global"));
        };
        let Value::Tuple(args) = args else { return Err(self.err("REDUCE arguments are not a tuple")) };
        let numpy = |m: &str| m.starts_with("numpy.core.") || m.starts_with("numpy._core.");
        match (module.as_str(), name.as_str()) {
            (m, "_reconstruct") if numpy(m) => Ok(Value::EmptyArray),
            ("numpy", "dtype") => match args.first() {
                Some(Value::Str(s)) => Ok(Value::Dtype(s.clone())),
                Some(Value::Bytes(b)) => Ok(Value::Dtype(String::from_utf8_lossy(b).into_owned())),
                _ => Err(self.err("numpy.dtype without a type string")),
            },
            (m, "_frombuffer") if numpy(m) => match args.as_slice() {
                [Value::Bytes(data), Value::Dtype(dtype), Value::Tuple(shape), ..] => Ok(Value::Array {
                    dtype: dtype.clone(),
                    shape: shape_of(shape).ok_or_else(|| self.err("array shape is not a tuple of ints"))?,
                    data: data.clone(),
                }),
                _ => Err(self.err("numpy _frombuffer with unexpected arguments")),
            },
            ("_codecs", "encode") => match args.as_slice() {
                // Python 3 writes bytes under protocol 2 as encode(latin-1 text, 'latin1').
                [Value::Str(text), ..] => Ok(Value::Bytes(text.chars().map(|c| c as u32 as u8).collect())),
                _ => Err(self.err("_codecs.encode with unexpected arguments")),
            },
            ("__builtin__" | "builtins", "bytearray") => match args.as_slice() {
                [Value::Bytes(b)] => Ok(Value::Bytes(b.clone())),
                [] => Ok(Value::Bytes(Vec::new())),
                _ => Err(self.err("bytearray with unexpected arguments")),
            },
            _ => Err(self.err(format!(
                "refusing to call {module}.{name}: only numpy array reconstruction is supported in dataset pickles"
            ))),
        }
    }

    fn build(&self, target: Value, state: Value) -> Result<Value, PickleError> {
        match target {
            // The dtype's BUILD state carries the byte order; '<', '|' and '=' are all fine here.
            Value::Dtype(d) => Ok(Value::Dtype(d)),
            Value::EmptyArray => {
                let Value::Tuple(items) = state else { return Err(self.err("ndarray state is not a tuple")) };
                // (version, shape, dtype, is_fortran, rawdata)
                let [_, Value::Tuple(shape), Value::Dtype(dtype), fortran, Value::Bytes(data)] = items.as_slice() else {
                    return Err(self.err("ndarray state is not (version, shape, dtype, is_fortran, raw bytes)"));
                };
                if matches!(fortran, Value::Bool(true) | Value::Int(1)) {
                    return Err(self.err("Fortran-ordered arrays are not supported"));
                }
                Ok(Value::Array {
                    dtype: dtype.clone(),
                    shape: shape_of(shape).ok_or_else(|| self.err("array shape is not a tuple of ints"))?,
                    data: data.clone(),
                })
            }
            _ => Err(self.err("BUILD on an object that is not a numpy array or dtype")),
        }
    }
}

fn shape_of(items: &[Value]) -> Option<Vec<usize>> {
    items
        .iter()
        .map(|v| match v {
            Value::Int(i) if *i >= 0 => Some(*i as usize),
            _ => None,
        })
        .collect()
}

/// Decodes a pickle.
pub fn load(bytes: &[u8]) -> Result<Value, PickleError> {
    Machine { bytes, pos: 0, stack: Vec::new(), memo: HashMap::new() }.run()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_other_callables() {
        // cos\nsystem\n(S'echo'\ntR.  — protocol 0's classic exploit, with SHORT_BINSTRING.
        let evil = b"cos\nsystem\n(U\x04echotR.";
        let e = load(evil).unwrap_err();
        assert!(e.message.contains("refusing to call os.system"), "{e}");
        assert!(load(b"\x80\x02}q\x00").unwrap_err().message.contains("truncated"));
    }

    #[test]
    fn small_values() {
        // Protocol 2: {'a': [1, 300, -2], 'b': (True, None)}
        let bytes = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01M,\x01J\xfe\xff\xff\xffeX\x01\x00\x00\x00bq\x03\x88N\x86q\x04u.";
        let v = load(bytes).unwrap();
        assert_eq!(v.get("a").unwrap().as_ints(), Some(vec![1, 300, -2]));
        assert_eq!(v.get("b"), Some(&Value::Tuple(vec![Value::Bool(true), Value::None])));
    }
}
