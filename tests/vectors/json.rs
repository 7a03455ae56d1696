//! JSON that keeps its keys in the order written, so that the vector files
//! read well and a rewrite changes only what changed.

use serde_json::Value;

#[derive(Debug, Clone)]
pub enum J {
    Obj(Vec<(String, J)>),
    Arr(Vec<J>),
    Val(Value),
}

/// Lines longer than this are broken into one key or entry a line.
const WIDTH: usize = 110;

impl J {
    pub fn obj<K: Into<String>>(pairs: impl IntoIterator<Item = (K, J)>) -> J {
        J::Obj(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    pub fn arr(items: impl IntoIterator<Item = J>) -> J {
        J::Arr(items.into_iter().collect())
    }

    pub fn s(text: impl Into<String>) -> J {
        J::Val(Value::String(text.into()))
    }

    pub fn v(value: impl serde::Serialize) -> J {
        J::Val(serde_json::to_value(value).unwrap())
    }

    pub fn null() -> J {
        J::Val(Value::Null)
    }

    /// `Some` as a string, `None` as null.
    pub fn opt(text: Option<impl Into<String>>) -> J {
        text.map_or(J::null(), J::s)
    }

    /// Appends a pair to an object.
    pub fn with(mut self, key: &str, value: J) -> J {
        if let J::Obj(pairs) = &mut self {
            pairs.push((key.to_string(), value));
        }
        self
    }

    /// The same JSON as a serde value (key order no longer matters).
    pub fn value(&self) -> Value {
        match self {
            J::Obj(pairs) => Value::Object(pairs.iter().map(|(k, v)| (k.clone(), v.value())).collect()),
            J::Arr(items) => Value::Array(items.iter().map(J::value).collect()),
            J::Val(v) => v.clone(),
        }
    }

    /// A serde value as `J`, its keys in the value's (sorted) order.
    fn from_value(value: &Value) -> J {
        match value {
            Value::Object(map) => J::Obj(map.iter().map(|(k, v)| (k.clone(), J::from_value(v))).collect()),
            Value::Array(items) => J::Arr(items.iter().map(J::from_value).collect()),
            other => J::Val(other.clone()),
        }
    }

    fn compact(&self) -> String {
        match self {
            J::Val(v @ (Value::Object(_) | Value::Array(_))) => J::from_value(v).compact(),
            J::Obj(pairs) => {
                let inner: Vec<String> = pairs
                    .iter()
                    .map(|(k, v)| format!("{}: {}", Value::from(k.as_str()), v.compact()))
                    .collect();
                format!("{{{}}}", inner.join(", "))
            }
            J::Arr(items) => format!("[{}]", items.iter().map(J::compact).collect::<Vec<_>>().join(", ")),
            J::Val(v) => v.to_string(),
        }
    }

    fn write(&self, out: &mut String, indent: usize) {
        if let J::Val(v @ (Value::Object(_) | Value::Array(_))) = self {
            return J::from_value(v).write(out, indent);
        }
        let compact = self.compact();
        if indent + compact.len() <= WIDTH || matches!(self, J::Val(_)) {
            out.push_str(&compact);
            return;
        }
        let pad = " ".repeat(indent + 2);
        let (open, close, entries): (char, char, Vec<(Option<&str>, &J)>) = match self {
            J::Obj(pairs) => ('{', '}', pairs.iter().map(|(k, v)| (Some(k.as_str()), v)).collect()),
            J::Arr(items) => ('[', ']', items.iter().map(|v| (None, v)).collect()),
            J::Val(_) => unreachable!(),
        };
        out.push(open);
        for (i, (key, value)) in entries.iter().enumerate() {
            out.push_str(if i == 0 { "\n" } else { ",\n" });
            out.push_str(&pad);
            if let Some(key) = key {
                out.push_str(&format!("{}: ", Value::from(*key)));
            }
            value.write(out, indent + 2);
        }
        out.push('\n');
        out.push_str(&" ".repeat(indent));
        out.push(close);
    }

    /// The file text: indented, short objects on one line.
    pub fn pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out.push('\n');
        out
    }
}
