//! The part of CEL that workload identity attribute mappings and conditions
//! use: `assertion.<claim>` (and `attribute.<name>`, `google.subject` in
//! conditions), string literals in single or double quotes, `==`, `!=`,
//! `&&`, `||`, `!`, parentheses, `true` and `false`. Anything else is
//! refused when the provider is created, as the IAM API refuses an
//! expression it cannot compile, so a rendered condition the fake cannot
//! read fails loudly instead of passing.

use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Str(String),
    Bool(bool),
    /// `assertion.sub`, `google.subject`, `attribute.team`.
    Path(String, String),
    Eq(Box<Expr>, Box<Expr>, bool),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Str(String),
    Ident(String),
    Dot,
    Op(&'static str),
    Open,
    Close,
}

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' => i += 1,
            '\'' | '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated string literal".into()),
                        Some('\\') => {
                            return Err("escapes in string literals are not supported".into());
                        }
                        Some(q) if *q == c => break,
                        Some(ch) => s.push(*ch),
                    }
                    i += 1;
                }
                i += 1;
                out.push(Token::Str(s));
            }
            '.' => {
                out.push(Token::Dot);
                i += 1;
            }
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            _ => {
                let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
                if let Some(op) = ["==", "!=", "&&", "||"].into_iter().find(|op| *op == two) {
                    out.push(Token::Op(op));
                    i += 2;
                } else if c == '!' {
                    out.push(Token::Op("!"));
                    i += 1;
                } else if c.is_ascii_alphabetic() || c == '_' {
                    let start = i;
                    while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                        i += 1;
                    }
                    out.push(Token::Ident(chars[start..i].iter().collect()));
                } else {
                    return Err(format!("unexpected character {c:?}"));
                }
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }
    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }
    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.peek() == Some(&Token::Op("||")) {
            self.at += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.equality()?;
        while self.peek() == Some(&Token::Op("&&")) {
            self.at += 1;
            left = Expr::And(Box::new(left), Box::new(self.equality()?));
        }
        Ok(left)
    }
    fn equality(&mut self) -> Result<Expr, String> {
        let left = self.unary()?;
        match self.peek() {
            Some(Token::Op(op @ ("==" | "!="))) => {
                let equal = *op == "==";
                self.at += 1;
                Ok(Expr::Eq(Box::new(left), Box::new(self.unary()?), equal))
            }
            _ => Ok(left),
        }
    }
    fn unary(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Token::Op("!")) => Ok(Expr::Not(Box::new(self.unary()?))),
            Some(Token::Open) => {
                let inner = self.or()?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err("missing )".into()),
                }
            }
            Some(Token::Str(s)) => Ok(Expr::Str(s)),
            Some(Token::Ident(word)) if word == "true" || word == "false" => {
                Ok(Expr::Bool(word == "true"))
            }
            Some(Token::Ident(root))
                if ["assertion", "google", "attribute"].contains(&root.as_str()) =>
            {
                match (self.next(), self.next()) {
                    (Some(Token::Dot), Some(Token::Ident(field))) => Ok(Expr::Path(root, field)),
                    _ => Err(format!("{root} must be followed by .<name>")),
                }
            }
            other => Err(format!("unsupported expression at {other:?}")),
        }
    }
}

pub fn parse(text: &str) -> Result<Expr, String> {
    let mut parser = Parser {
        tokens: tokens(text)?,
        at: 0,
    };
    let expr = parser.or()?;
    if parser.at != parser.tokens.len() {
        return Err("unexpected text after the expression".into());
    }
    Ok(expr)
}

/// What a mapping or condition sees: the assertion's claims and the
/// attributes mapped so far (`google.subject`, `attribute.*`).
pub struct Scope<'a> {
    pub assertion: &'a Value,
    pub attributes: &'a BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Str(String),
    Bool(bool),
    Missing,
}

pub fn eval(expr: &Expr, scope: &Scope<'_>) -> Val {
    match expr {
        Expr::Str(s) => Val::Str(s.clone()),
        Expr::Bool(b) => Val::Bool(*b),
        Expr::Path(root, field) => {
            let found = if root == "assertion" {
                match scope.assertion.get(field) {
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(Value::Bool(b)) => return Val::Bool(*b),
                    Some(Value::Number(n)) => Some(n.to_string()),
                    _ => None,
                }
            } else {
                scope.attributes.get(&format!("{root}.{field}")).cloned()
            };
            found.map_or(Val::Missing, Val::Str)
        }
        Expr::Eq(a, b, equal) => {
            let (a, b) = (eval(a, scope), eval(b, scope));
            if a == Val::Missing || b == Val::Missing {
                return Val::Missing;
            }
            Val::Bool((a == b) == *equal)
        }
        Expr::And(a, b) => Val::Bool(truthy(eval(a, scope)) && truthy(eval(b, scope))),
        Expr::Or(a, b) => Val::Bool(truthy(eval(a, scope)) || truthy(eval(b, scope))),
        Expr::Not(a) => match eval(a, scope) {
            Val::Bool(b) => Val::Bool(!b),
            _ => Val::Missing,
        },
    }
}

/// A condition passes only on `true` (a missing claim or a non-boolean
/// result rejects, as IAM rejects a condition that errors).
pub fn truthy(value: Val) -> bool {
    value == Val::Bool(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_and_mappings() {
        let claims = serde_json::json!({"sub": "org:acme", "team": "x"});
        let attributes = BTreeMap::new();
        let scope = Scope {
            assertion: &claims,
            attributes: &attributes,
        };
        let pass = |text: &str| truthy(eval(&parse(text).unwrap(), &scope));
        assert!(pass("assertion.sub=='org:acme'"));
        assert!(pass(
            "assertion.sub == \"org:acme\" && !(assertion.team != 'x')"
        ));
        assert!(!pass("assertion.sub=='org:other'"));
        assert!(!pass("assertion.missing=='x'"));
        assert!(pass("true || assertion.missing=='x'"));
        assert_eq!(
            eval(&parse("assertion.sub").unwrap(), &scope),
            Val::Str("org:acme".into())
        );
        for bad in [
            "assertion.sub.startsWith('a')",
            "assertion.sub=='a",
            "1 == 1",
            "assertion",
            "assertion.sub ==",
            "a.b",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
