//! PostgreSQL: connecting, binding, and what its errors say.

use sea_query::{ArrayType, OptionEnum, Value};
use sqlx::error::BoxDynError;

use super::ConnectOptions;
use super::{Driver, Row};
use crate::storage::{aware, date, naive, unsigned};

mod tables;

/// A pool on `url`; through a transaction pooler when `options` or the URL ask (see
/// [`super::pooler`]).
pub(crate) async fn connect(
    url: &str,
    options: &ConnectOptions,
) -> crate::error::Result<super::Conns<sqlx::Postgres>> {
    let super::pooler::PoolerUrl { url, on, settings } =
        super::pooler::read_url(url, options.pooler)?;
    // A multi-host URL: the host that fits now (the first, for a pool that connects later).
    let hosts = super::hosts::read_url(&url)?.map(|mut hosts| {
        hosts.statement_cache = !on;
        std::sync::Arc::new(hosts)
    });
    let url = match &hosts {
        Some(hosts) => {
            if options.lazy {
                hosts.search_again();
            } else {
                let index = hosts.find().await?;
                hosts.move_to(index);
            }
            hosts.current_url().to_owned()
        }
        None => url,
    };
    let health = super::Health::new(options.ping_idle_after);
    if on {
        let pooler = super::Pooler::new(options.statement_timeout, &options.on_connect, &settings)?;
        let connect = super::without_slow_log(
            url.parse::<sqlx::postgres::PgConnectOptions>()?
                .statement_cache_capacity(0),
        );
        let pool = pool_options(options, &health, hosts.as_ref());
        let pool = if options.lazy {
            pool.connect_lazy_with(connect)
        } else {
            pool.connect_with(connect).await?
        };
        return Ok(super::Conns {
            pool,
            pooler: Some(std::sync::Arc::new(pooler)),
            health,
            hosts,
            metrics: None,
        });
    }
    let mut settings = Vec::new();
    if let Some(timeout) = options.statement_timeout {
        settings.push(format!(
            "SET statement_timeout = {}",
            timeout.as_millis().max(1)
        ));
    }
    settings.extend(options.on_connect.iter().cloned());
    let pool = pool_options(options, &health, hosts.as_ref()).after_connect(move |conn, _| {
        let settings = settings.clone();
        Box::pin(async move { super::run_settings!(conn, settings) })
    });
    let connect = super::without_slow_log(url.parse::<sqlx::postgres::PgConnectOptions>()?);
    let pool = if options.lazy {
        pool.connect_lazy_with(connect)
    } else {
        pool.connect_with(connect).await?
    };
    Ok(super::Conns {
        hosts,
        ..super::Conns::direct(pool, health)
    })
}

fn pool_options(
    options: &ConnectOptions,
    health: &std::sync::Arc<super::Health>,
    hosts: Option<&std::sync::Arc<super::hosts::Hosts>>,
) -> sqlx::postgres::PgPoolOptions {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(options.max_connections)
        .min_connections(options.min_connections)
        .acquire_timeout(options.acquire_timeout)
        .test_before_acquire(options.test_before_acquire);
    let Some(hosts) = hosts.cloned() else {
        return pool.before_acquire(super::health::ping_suspects!(health));
    };
    // Following the hosts: a connection opened before the pool moved to another host is
    // closed, never lent (it may be to a demoted primary); the others as any pool's.
    let health = std::sync::Arc::clone(health);
    pool.before_acquire(move |conn, meta| {
        let health = std::sync::Arc::clone(&health);
        let moved = hosts.opened_before_move(meta.age);
        Box::pin(async move {
            if moved {
                return Ok(false);
            }
            if health.suspect(meta.idle_for) {
                use sqlx::Connection as _;
                if let Err(error) = conn.ping().await {
                    health.lost();
                    return Err(error);
                }
            }
            Ok(true)
        })
    })
}

impl Driver for sqlx::Postgres {
    fn arguments(values: &[Value]) -> Result<Self::Arguments, BoxDynError> {
        arguments(values)
    }
    fn wrap(row: Self::Row) -> Row {
        Row::Postgres(row)
    }
    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }

    fn raw(
        connection: &mut Self::Connection,
        sql: sqlx::SqlStr,
    ) -> futures_core::future::BoxFuture<'_, Result<(), sqlx::Error>> {
        Box::pin(async move { sqlx::raw_sql(sql).execute(connection).await.map(drop) })
    }

    fn text(
        connection: &mut Self::Connection,
        sql: sqlx::SqlStr,
    ) -> futures_core::future::BoxFuture<'_, Result<Option<String>, sqlx::Error>> {
        Box::pin(async move {
            use sqlx::Row as _;
            let row = sqlx::raw_sql(sql).fetch_optional(connection).await?;
            Ok(row
                .map(|row| row.try_get::<Option<String>, _>(0))
                .transpose()?
                .flatten())
        })
    }

    const CLOSE_CUT_OFF: bool = true;

    fn connect_to(
        pool: &sqlx::Pool<Self>,
        url: &str,
        statement_cache: bool,
    ) -> Result<(), sqlx::Error> {
        let options = super::without_slow_log(url.parse::<sqlx::postgres::PgConnectOptions>()?);
        let options = if statement_cache {
            options
        } else {
            options.statement_cache_capacity(0)
        };
        pool.set_connect_options(options);
        Ok(())
    }
}

/// The column of a NOT NULL violation, which PostgreSQL reports in a field of its own.
pub(crate) fn not_null_column(db: &dyn sqlx::error::DatabaseError) -> Option<String> {
    db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .and_then(sqlx::postgres::PgDatabaseError::column)
        .map(str::to_owned)
}

/// Arguments for a PostgreSQL statement: each value as [`storage`] makes it, encoded straight
/// from the borrowed value into one buffer sized up front (no converted copy of the values, no
/// regrowth per value). Arrays, rare and of many element types, go through sea-query's binder.
pub(crate) fn arguments(values: &[Value]) -> Result<sqlx::postgres::PgArguments, BoxDynError> {
    use sqlx::Arguments as _;
    if values
        .iter()
        .any(|v| matches!(v, Value::Array(..)) && !encodes_directly(v))
    {
        return converted_arguments(values.to_vec());
    }
    let mut args = sqlx::postgres::PgArguments::default();
    // A length word and about eight bytes of data a value; text grows it where it must.
    args.reserve(values.len(), values.len() * 12);
    for value in values {
        bind(&mut args, value)?;
    }
    Ok(args)
}

/// Encode one value, converted as [`storage`] converts it and bound as sea-query's binder binds
/// the converted value. Arrays only of the element types [`column_array`] names (see
/// [`arguments`]).
fn bind(args: &mut sqlx::postgres::PgArguments, value: &Value) -> Result<(), BoxDynError> {
    use sqlx::Arguments as _;
    match value {
        Value::Bool(v) => args.add(*v),
        Value::TinyInt(v) => args.add(v.map(i64::from)),
        Value::SmallInt(v) => args.add(v.map(i64::from)),
        Value::Int(v) => args.add(v.map(i64::from)),
        Value::BigInt(v) => args.add(*v),
        Value::TinyUnsigned(v) => args.add(v.map(i64::from)),
        Value::SmallUnsigned(v) => args.add(v.map(i64::from)),
        Value::Unsigned(v) => args.add(v.map(i64::from)),
        Value::BigUnsigned(v) => args.add(unsigned(*v)?),
        Value::Float(v) => args.add(v.map(f64::from)),
        Value::Double(v) => args.add(*v),
        Value::String(v) => args.add(v.as_deref()),
        Value::Char(v) => args.add(v.map(|c| c.to_string())),
        Value::Enum(v) => args.add(match v {
            OptionEnum::Some(v) => Some(&*v.value),
            OptionEnum::None(_) => None,
        }),
        Value::Bytes(v) => args.add(v.as_deref()),
        Value::Json(v) => args.add(v.as_deref()),
        Value::ChronoDate(v) => args.add(date(*v)?),
        Value::ChronoTime(v) => args.add(*v),
        Value::ChronoDateTime(v) => args.add(naive(*v)?),
        Value::ChronoDateTimeUtc(v) => args.add(aware(*v)?),
        Value::ChronoDateTimeLocal(v) => args.add(aware(*v)?),
        Value::ChronoDateTimeWithTimeZone(v) => args.add(aware(*v)?),
        Value::Uuid(v) => args.add(*v),
        Value::IpNetwork(v) => args.add(*v),
        #[cfg(feature = "decimal")]
        Value::Decimal(v) => args.add(*v),
        Value::Array(element, Some(items)) => bind_array(args, element, items),
        Value::Array(_, None) => Err("a NULL array is bound by sea-query's binder".into()),
    }
}

/// Whether `value` is an array [`bind`] encodes itself: every item is of a kind whose
/// [`column_array`] element type is the array's own.
fn encodes_directly(value: &Value) -> bool {
    let Value::Array(element, Some(items)) = value else {
        return false;
    };
    !items.is_empty()
        && items.iter().all(|item| {
            crate::dialect::postgres::column_array(item)
                .is_some_and(|(of_item, _)| of_item == *element)
        })
}

/// Encode an array that [`encodes_directly`], each item converted as [`bind`] converts it.
fn bind_array(
    args: &mut sqlx::postgres::PgArguments,
    element: &ArrayType,
    items: &[Value],
) -> Result<(), BoxDynError> {
    use sqlx::Arguments as _;
    fn each<'v, T>(
        items: &'v [Value],
        item: impl Fn(&'v Value) -> Result<Option<T>, BoxDynError>,
    ) -> Result<Vec<Option<T>>, BoxDynError> {
        items.iter().map(item).collect()
    }
    let other = |v: &Value| -> BoxDynError { format!("{v:?} in an array of {element:?}").into() };
    match element {
        ArrayType::BigInt => args.add(each(items, |v| match v {
            Value::TinyInt(v) => Ok(v.map(i64::from)),
            Value::SmallInt(v) => Ok(v.map(i64::from)),
            Value::Int(v) => Ok(v.map(i64::from)),
            Value::BigInt(v) => Ok(*v),
            Value::TinyUnsigned(v) => Ok(v.map(i64::from)),
            Value::SmallUnsigned(v) => Ok(v.map(i64::from)),
            Value::Unsigned(v) => Ok(v.map(i64::from)),
            Value::BigUnsigned(v) => Ok(unsigned(*v)?),
            v => Err(other(v)),
        })?),
        ArrayType::Double => args.add(each(items, |v| match v {
            Value::Float(v) => Ok(v.map(f64::from)),
            Value::Double(v) => Ok(*v),
            v => Err(other(v)),
        })?),
        ArrayType::String => args.add(each(items, |v| match v {
            Value::String(v) => Ok(v.as_deref().map(std::borrow::Cow::Borrowed)),
            Value::Char(v) => Ok(v.map(|c| std::borrow::Cow::Owned(c.to_string()))),
            Value::Enum(OptionEnum::Some(v)) => Ok(Some(std::borrow::Cow::Borrowed(&*v.value))),
            Value::Enum(OptionEnum::None(_)) => Ok(None),
            v => Err(other(v)),
        })?),
        ArrayType::Bool => args.add(each(items, |v| match v {
            Value::Bool(v) => Ok(*v),
            v => Err(other(v)),
        })?),
        ArrayType::Bytes => args.add(each(items, |v| match v {
            Value::Bytes(v) => Ok(v.as_deref()),
            v => Err(other(v)),
        })?),
        ArrayType::Json => args.add(each(items, |v| match v {
            Value::Json(v) => Ok(v.as_deref()),
            v => Err(other(v)),
        })?),
        ArrayType::ChronoDate => args.add(each(items, |v| match v {
            Value::ChronoDate(v) => Ok(date(*v)?),
            v => Err(other(v)),
        })?),
        ArrayType::ChronoTime => args.add(each(items, |v| match v {
            Value::ChronoTime(v) => Ok(*v),
            v => Err(other(v)),
        })?),
        ArrayType::ChronoDateTime => args.add(each(items, |v| match v {
            Value::ChronoDateTime(v) => Ok(naive(*v)?),
            v => Err(other(v)),
        })?),
        ArrayType::ChronoDateTimeUtc => args.add(each(items, |v| match v {
            Value::ChronoDateTimeUtc(v) => Ok(aware(*v)?),
            Value::ChronoDateTimeLocal(v) => Ok(aware(*v)?.map(|t| t.to_utc())),
            Value::ChronoDateTimeWithTimeZone(v) => Ok(aware(*v)?.map(|t| t.to_utc())),
            v => Err(other(v)),
        })?),
        ArrayType::Uuid => args.add(each(items, |v| match v {
            Value::Uuid(v) => Ok(*v),
            v => Err(other(v)),
        })?),
        ArrayType::IpNetwork => args.add(each(items, |v| match v {
            Value::IpNetwork(v) => Ok(*v),
            v => Err(other(v)),
        })?),
        #[cfg(feature = "decimal")]
        ArrayType::Decimal => args.add(each(items, |v| match v {
            Value::Decimal(v) => Ok(*v),
            v => Err(other(v)),
        })?),
        _ => Err(format!("an array of {element:?} is bound by sea-query's binder").into()),
    }
}

/// Arguments bound by sea-query's sqlx binder after the conversions of [`storage`].
fn converted_arguments(values: Vec<Value>) -> Result<sqlx::postgres::PgArguments, BoxDynError> {
    let values = values
        .into_iter()
        .map(storage)
        .collect::<Result<Vec<_>, BoxDynError>>()?;
    Ok(sqlx::IntoArguments::<sqlx::Postgres>::into_arguments(
        sea_query_sqlx::SqlxValues(sea_query::Values(values)),
    ))
}

/// A value as this framework binds it on PostgreSQL.
fn storage(value: Value) -> Result<Value, BoxDynError> {
    Ok(match value {
        // Every integer travels as int8 and every float as float8: PostgreSQL converts them to
        // the column's type, and one SQL text then always has the same parameter types, which
        // sqlx's per-connection statement cache (keyed by text) relies on.
        Value::TinyInt(v) => Value::BigInt(v.map(i64::from)),
        Value::SmallInt(v) => Value::BigInt(v.map(i64::from)),
        Value::Int(v) => Value::BigInt(v.map(i64::from)),
        Value::TinyUnsigned(v) => Value::BigInt(v.map(i64::from)),
        Value::SmallUnsigned(v) => Value::BigInt(v.map(i64::from)),
        Value::Unsigned(v) => Value::BigInt(v.map(i64::from)),
        Value::BigUnsigned(v) => Value::BigInt(unsigned(v)?),
        Value::Float(v) => Value::Double(v.map(f64::from)),
        // Years every backend stores alike, or a validation error before anything is sent.
        Value::ChronoDate(v) => Value::ChronoDate(date(v)?),
        Value::ChronoDateTime(v) => Value::ChronoDateTime(naive(v)?),
        Value::ChronoDateTimeUtc(v) => Value::ChronoDateTimeUtc(aware(v)?),
        Value::ChronoDateTimeLocal(v) => Value::ChronoDateTimeLocal(aware(v)?),
        Value::ChronoDateTimeWithTimeZone(v) => Value::ChronoDateTimeWithTimeZone(aware(v)?),
        // A long list of `u64`s (`= ANY($1)`) is an int8 array: each element is checked.
        Value::Array(ArrayType::BigInt, Some(items)) => Value::Array(
            ArrayType::BigInt,
            Some(Box::new(
                items
                    .into_iter()
                    .map(storage)
                    .collect::<Result<Vec<_>, BoxDynError>>()?,
            )),
        ),
        #[cfg(feature = "decimal")]
        value @ Value::Decimal(_) => value,
        value @ (Value::Bool(_)
        | Value::IpNetwork(_)
        | Value::BigInt(_)
        | Value::Double(_)
        | Value::String(_)
        | Value::Char(_)
        | Value::Enum(_)
        | Value::Bytes(_)
        | Value::Json(_)
        | Value::ChronoTime(_)
        | Value::Uuid(_)
        | Value::Array(..)) => value,
    })
}

impl super::catalog::Catalog for sqlx::Postgres {
    async fn catalog(
        conn: &mut sqlx::PgConnection,
        schema: Option<&str>,
        table: &str,
    ) -> Result<Option<super::catalog::CatalogTable>, sqlx::Error> {
        use super::catalog::{CatalogColumn, CatalogTable};
        let enum_types: Vec<String> = sqlx::query_scalar(
            "SELECT t.typname::text FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
             WHERE t.typtype = 'e' AND n.nspname = current_schema()",
        )
        .fetch_all(&mut *conn)
        .await?;
        // `format_type` names the type as PostgreSQL writes it (`character varying(255)`,
        // `timestamp with time zone`, `real[]`, an enum's name).
        let rows: Vec<(String, String, String, String, bool, String)> = sqlx::query_as(
            "SELECT c.column_name::text, c.is_nullable::text, c.data_type::text, \
                    c.udt_name::text, \
                    (c.column_default IS NOT NULL OR c.is_identity = 'YES' \
                     OR c.is_generated = 'ALWAYS'), \
                    format_type(a.atttypid, a.atttypmod) \
             FROM information_schema.columns c \
             JOIN pg_attribute a \
               ON a.attrelid = format('%I.%I', c.table_schema, c.table_name)::regclass \
              AND a.attname = c.column_name \
             WHERE c.table_schema = COALESCE($2, current_schema()) AND c.table_name = $1 \
             ORDER BY c.ordinal_position",
        )
        .bind(table)
        .bind(schema)
        .fetch_all(&mut *conn)
        .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        // Unique indexes ON CONFLICT can use: whole-table, on plain columns.
        let keys: Vec<(bool, Vec<String>)> = sqlx::query_as(
            "SELECT i.indisprimary, array_agg(a.attname::text ORDER BY k.ord) \
             FROM pg_index i \
             JOIN pg_class r ON r.oid = i.indrelid \
             JOIN pg_namespace n ON n.oid = r.relnamespace \
             CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
             JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum = k.attnum \
             WHERE n.nspname = COALESCE($2, current_schema()) AND r.relname = $1 \
               AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL \
             GROUP BY i.indexrelid, i.indisprimary",
        )
        .bind(table)
        .bind(schema)
        .fetch_all(&mut *conn)
        .await?;
        let columns = rows
            .into_iter()
            .map(
                |(name, nullable, data_type, udt, has_default, type_name)| CatalogColumn {
                    name,
                    type_name,
                    nullable: nullable == "YES",
                    has_default,
                    class: class(&data_type, &udt, &enum_types),
                    serves: &[],
                    inexact_collation: None,
                },
            )
            .collect();
        Ok(Some(CatalogTable {
            columns,
            primary_key: keys
                .iter()
                .find(|(primary, _)| *primary)
                .map(|(_, columns)| columns.clone())
                .unwrap_or_default(),
            unique_keys: keys.into_iter().map(|(_, columns)| columns).collect(),
        }))
    }

    async fn relations(
        conn: &mut sqlx::PgConnection,
        schema: Option<&str>,
    ) -> Result<Vec<(String, bool)>, sqlx::Error> {
        tables::relations(conn, schema).await
    }

    async fn describe(
        conn: &mut sqlx::PgConnection,
        schema: Option<&str>,
        name: &str,
        view: bool,
    ) -> Result<crate::schema_description::TableDescription, sqlx::Error> {
        tables::describe(conn, schema, name, view).await
    }
}

/// The class of a column from `information_schema.columns`.
fn class(data_type: &str, udt_name: &str, enum_types: &[String]) -> super::catalog::TypeClass {
    use super::catalog::TypeClass;
    match data_type {
        "smallint" | "integer" | "bigint" => TypeClass::Integer,
        "real" | "double precision" => TypeClass::Float,
        "numeric" => TypeClass::Decimal,
        "text" | "character varying" | "character" => TypeClass::Text,
        "boolean" => TypeClass::Bool,
        "date" => TypeClass::Date,
        "time without time zone" => TypeClass::Time,
        "timestamp without time zone" => TypeClass::DateTime,
        "timestamp with time zone" => TypeClass::Timestamp,
        "json" | "jsonb" => TypeClass::Json,
        "uuid" => TypeClass::Uuid,
        "bytea" => TypeClass::Blob,
        "inet" | "cidr" => TypeClass::Inet,
        "ARRAY" => TypeClass::Array,
        "USER-DEFINED" if enum_types.iter().any(|t| t == udt_name) => TypeClass::Enum,
        _ => TypeClass::Other,
    }
}
