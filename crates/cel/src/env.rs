//! The environment Flux compiles its expressions in (fluxcd/pkg `runtime/cel` `NewExpression`):
//! the standard library and macros, optional types, and cel-go's `strings`, `sets` and
//! `encoders` extensions. cel-go's `lists` and `math` extensions are left out, as Flux leaves
//! them out.

use std::sync::{Arc, LazyLock};

use cel::{DeclarationError, Env};

use crate::functions;

/// The shared environment; built once (registration is deterministic and cannot fail unless
/// two registrations clash, which the unit tests would show).
static FLUX_ENV: LazyLock<Result<Arc<Env>, DeclarationError>> = LazyLock::new(|| {
    let mut env = Env::stdlib();
    cel::extensions::strings(&mut env)?;
    cel::extensions::encoders(&mut env)?;
    functions::register(&mut env)?;
    Ok(Arc::new(env))
});

/// Flux's environment, or the registration clash that prevented building it.
pub fn flux_env() -> Result<Arc<Env>, String> {
    FLUX_ENV
        .as_ref()
        .map(Arc::clone)
        .map_err(|e| format!("failed to create CEL environment: {e}"))
}
