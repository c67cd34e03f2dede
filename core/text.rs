//! text.rs: the module's error messages without `core::fmt`. `format!` would pull the
//! formatting machinery (and, through one `{:?}` of a float, Rust's float printer) into the
//! wasm: about 25 KB. And building a `String` at every place an error can arise costs code
//! at each of them, so an error site only records a `Detail`: a static template and up to
//! four arguments (`detail!("constant {} of {}", x, n)`, two words each); the text is
//! written once, by `Detail::render`, when the error reaches its caller.

use alloc::string::String;

/// One argument of a `Detail`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    None,
    Int(i64),
    Str(&'static str),
    /// A byte shown as `0x1f`.
    Hex(u8),
}

impl From<&'static str> for Arg {
    fn from(s: &'static str) -> Arg {
        Arg::Str(s)
    }
}

impl From<bool> for Arg {
    fn from(b: bool) -> Arg {
        Arg::Str(if b { "true" } else { "false" })
    }
}

macro_rules! int_arg {
    ($($t:ty),*) => {$(
        impl From<$t> for Arg {
            fn from(v: $t) -> Arg {
                Arg::Int(v as i64)
            }
        }
    )*};
}
int_arg!(u8, u16, u32, u64, usize, i32, i64);

/// A message: `text` with each `{}` replaced by the next argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Detail {
    pub text: &'static str,
    pub args: [Arg; 4],
}

impl Detail {
    pub fn new(text: &'static str, given: &[Arg]) -> Detail {
        let mut args = [Arg::None; 4];
        for (slot, arg) in args.iter_mut().zip(given) {
            *slot = *arg;
        }
        Detail { text, args }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut args = self.args.iter();
        let mut rest = self.text;
        while let Some(hole) = rest.find('{') {
            out.push_str(&rest[..hole]);
            // Templates are literals in this crate: every '{' starts a "{}".
            rest = rest.get(hole + 2..).unwrap_or("");
            match args.next().copied().unwrap_or(Arg::None) {
                Arg::None => {}
                Arg::Int(v) => put_decimal(&mut out, v),
                Arg::Str(s) => out.push_str(s),
                Arg::Hex(b) => {
                    out.push_str("0x");
                    if b >= 16 {
                        out.push(hex_digit(b >> 4));
                    }
                    out.push(hex_digit(b & 15));
                }
            }
        }
        out.push_str(rest);
        out
    }
}

fn hex_digit(d: u8) -> char {
    b"0123456789abcdef"[(d & 15) as usize] as char
}

/// Appends `v` in decimal.
pub fn put_decimal(out: &mut String, v: i64) {
    let mut digits = [0u8; 20];
    let mut n = 0;
    let mut m = v.unsigned_abs();
    loop {
        digits[n] = b'0' + (m % 10) as u8;
        n += 1;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    if v < 0 {
        out.push('-');
    }
    for &d in digits[..n].iter().rev() {
        out.push(d as char);
    }
}

/// `detail!("constant {} of {}", x, n)`: a `Detail` (at most four arguments).
#[macro_export]
macro_rules! detail {
    ($text:expr $(, $arg:expr)* $(,)?) => {
        $crate::text::Detail::new($text, &[$($crate::text::Arg::from($arg)),*])
    };
}

#[cfg(test)]
mod tests {
    use super::Arg;

    #[test]
    fn render_matches_format() {
        for v in [0i64, 7, -7, 10, 255, i64::MIN, i64::MAX] {
            assert_eq!(detail!("v={}.", v).render(), alloc::format!("v={v}."));
        }
        for b in [0u8, 9, 15, 16, 0x54, 255] {
            assert_eq!(detail!("{}", Arg::Hex(b)).render(), alloc::format!("{b:#x}"));
        }
        assert_eq!(detail!("{} {}: {}", "a", true, -2i32).render(), "a true: -2");
        assert_eq!(detail!("no args").render(), "no args");
        // A template with more holes than arguments leaves the extra holes empty.
        assert_eq!(detail!("{}-{}", 1u8).render(), "1-");
    }
}
