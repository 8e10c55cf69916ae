//! The controller's JSON log lines with the keys Flux's controllers write (zap's production
//! encoder as fluxcd/pkg/runtime configures it), so `flux logs` and log pipelines built for
//! Flux read tether's: `level` (lower case), `ts` (ISO 8601, milliseconds, UTC), `logger`,
//! `msg`, `error`, and for a line about an object `controllerKind`, `name` and `namespace`
//! (from tether's `object = Kind/namespace/name` field). Other fields keep their names.

use serde_json::{Map, Value};
use std::fmt;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Formats each event as one Flux-keyed JSON object per line.
pub struct FluxJson;

impl<S, N> FormatEvent<S, N> for FluxJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let now = chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        let line = flux_entry(event, now);
        writeln!(writer, "{}", Value::Object(line))
    }
}

/// The entry of `event`, stamped `ts`.
fn flux_entry(event: &Event<'_>, ts: String) -> Map<String, Value> {
    let mut fields = Fields::default();
    event.record(&mut fields);
    let metadata = event.metadata();
    let mut entry = Map::new();
    entry.insert("level".into(), level_name(metadata.level()).into());
    entry.insert("ts".into(), ts.into());
    entry.insert("logger".into(), metadata.target().into());
    entry.insert("msg".into(), fields.message.unwrap_or_default().into());
    if let Some(Value::String(object)) = fields.values.get("object")
        && let [kind, namespace, name] = object.splitn(3, '/').collect::<Vec<_>>()[..]
    {
        entry.insert("controllerKind".into(), kind.to_lowercase().into());
        entry.insert("name".into(), name.into());
        entry.insert("namespace".into(), namespace.into());
    }
    entry.extend(fields.values);
    entry
}

/// zap's lower-case level names (it has no trace level: trace is debug).
fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        _ => "debug",
    }
}

/// An event's message and other fields, in the order recorded.
#[derive(Default)]
struct Fields {
    message: Option<String>,
    values: Map<String, Value>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_value(field, format!("{value:?}").into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_value(field, value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.record_value(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.record_value(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.record_value(field, value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.record_value(field, value.to_string().into());
    }
}

impl Fields {
    fn record_value(&mut self, field: &Field, value: Value) {
        match field.name() {
            "message" => {
                self.message = Some(match value {
                    Value::String(text) => text,
                    other => other.to_string(),
                });
            }
            name => {
                self.values.insert(name.to_owned(), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::fmt::MakeWriter;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut buffer) = self.0.lock() {
                buffer.extend_from_slice(bytes);
            }
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;

        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    fn lines_of(log: impl FnOnce()) -> Vec<Value> {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(captured.clone())
            .event_format(FluxJson)
            .with_max_level(Level::DEBUG)
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        let bytes = captured.0.lock().map(|b| b.clone()).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap_or(Value::Null))
            .collect()
    }

    #[test]
    fn an_object_line_carries_the_keys_flux_logs_filters_on() {
        let lines = lines_of(|| {
            let error = std::io::Error::other("kustomize build failed");
            tracing::error!(object = "Kustomization/apps/web", %error, "reconcile failed");
            tracing::info!(addr = "127.0.0.1:8080", "serving");
        });
        let [failed, serving] = &lines[..] else {
            panic!("two lines expected: {lines:?}");
        };
        assert_eq!(failed["level"], "error");
        assert_eq!(failed["msg"], "reconcile failed");
        assert_eq!(failed["error"], "kustomize build failed");
        assert_eq!(failed["controllerKind"], "kustomization");
        assert_eq!(failed["name"], "web");
        assert_eq!(failed["namespace"], "apps");
        let ts = failed["ts"].as_str().unwrap_or_default();
        assert!(
            chrono::DateTime::parse_from_rfc3339(ts).is_ok() && ts.ends_with('Z'),
            "{ts}"
        );
        assert_eq!(serving["level"], "info");
        assert_eq!(serving["addr"], "127.0.0.1:8080");
        assert!(serving.get("name").is_none());
    }
}
