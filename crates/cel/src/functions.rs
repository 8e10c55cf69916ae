//! Functions Flux's environment has that cel-rust does not provide, registered on the
//! environment:
//!
//! - cel-go's `sets` extension (`sets.contains`, `sets.equivalent`, `sets.intersects`), which
//!   Flux enables (`ext.Sets()`) and cel-rust does not ship.
//! - `list.first()` and `list.last()`, optionals of the first and last element, from cel-go's
//!   optional library (version 2, which `cel.OptionalTypes()` enables). Flux's own Provider
//!   documentation uses them in its `commitStatusExpr` example
//!   (`provider.metadata.uid.split('-').first().value()`).
//!
//! Element equality is CEL's (`==`), as in cel-go.

use cel::common::traits::Iterable;
use cel::common::types::{CelBool, CelOptional, LIST_TYPE};
use cel::common::value::{CowVal, Val};
use cel::{DeclarationError, Env, ExecutionError};

/// Registers every function of this module on `env`.
pub fn register(env: &mut Env) -> Result<(), DeclarationError> {
    let lists = || vec![LIST_TYPE, LIST_TYPE];
    env.add_overload(
        "sets.contains",
        "list_sets_contains_list",
        lists(),
        contains,
    )?;
    env.add_overload(
        "sets.equivalent",
        "list_sets_equivalent_list",
        lists(),
        equivalent,
    )?;
    env.add_overload(
        "sets.intersects",
        "list_sets_intersects_list",
        lists(),
        intersects,
    )?;
    env.add_member_overload("first", "list_first", LIST_TYPE, vec![], first)?;
    env.add_member_overload("last", "list_last", LIST_TYPE, vec![], last)?;
    Ok(())
}

fn iterable<'b, 'v>(list: &'b (dyn Val + 'v)) -> Result<&'b (dyn Iterable + 'v), ExecutionError> {
    list.as_iterable()
        .ok_or_else(|| ExecutionError::UnexpectedType {
            got: list.get_type().name().to_owned(),
            want: "list".to_owned(),
        })
}

/// The elements of `list`, borrowed.
fn elements<'b, 'v>(list: &'b (dyn Val + 'v)) -> Result<Vec<&'b (dyn Val + 'v)>, ExecutionError> {
    let mut items = iterable(list)?.iter();
    let mut out = Vec::new();
    while let Some(item) = items.next() {
        out.push(item);
    }
    Ok(out)
}

fn two<'a, 'b, 'v>(
    args: &'a [CowVal<'b, 'v>],
) -> Result<(&'a (dyn Val + 'v), &'a (dyn Val + 'v)), ExecutionError> {
    match args {
        [a, b] => Ok((a.as_ref(), b.as_ref())),
        _ => Err(ExecutionError::invalid_argument_count(2, args.len())),
    }
}

/// Whether every element of `sub` is an element of `of`.
fn all_in(sub: &dyn Val, of: &dyn Val) -> Result<bool, ExecutionError> {
    let of = elements(of)?;
    Ok(elements(sub)?
        .into_iter()
        .all(|x| of.iter().any(|y| x.equals(*y))))
}

fn boolean<'b, 'v>(value: bool) -> CowVal<'b, 'v> {
    CowVal::owned(CelBool::from(value))
}

/// `sets.contains(a, b)`: every element of `b` is in `a`.
fn contains<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let (a, b) = two(&args)?;
    Ok(boolean(all_in(b, a)?))
}

/// `sets.equivalent(a, b)`: the same elements, duplicates and order aside.
fn equivalent<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let (a, b) = two(&args)?;
    Ok(boolean(all_in(a, b)? && all_in(b, a)?))
}

/// `sets.intersects(a, b)`: at least one element in common.
fn intersects<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let (a, b) = two(&args)?;
    let b = elements(b)?;
    let common = elements(a)?
        .into_iter()
        .any(|x| b.iter().any(|y| x.equals(*y)));
    Ok(boolean(common))
}

fn one<'a, 'b, 'v>(args: &'a [CowVal<'b, 'v>]) -> Result<&'a (dyn Val + 'v), ExecutionError> {
    match args {
        [a] => Ok(a.as_ref()),
        _ => Err(ExecutionError::invalid_argument_count(1, args.len())),
    }
}

fn optional_of<'b, 'v>(item: Option<&(dyn Val + 'v)>) -> CowVal<'b, 'v> {
    CowVal::owned(match item {
        Some(item) => CelOptional::of(item.clone_as_boxed()),
        None => CelOptional::none(),
    })
}

/// `list.first()`: `optional.of` the first element, `optional.none()` for an empty list.
fn first<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let list = one(&args)?;
    let first = iterable(list)?.iter().next();
    Ok(optional_of(first))
}

/// `list.last()`: `optional.of` the last element, `optional.none()` for an empty list.
fn last<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let list = one(&args)?;
    let last = elements(list)?.pop();
    Ok(optional_of(last))
}
