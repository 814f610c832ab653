//! Typed records: a measurement kind declares its record type once, with
//! [`record!`](crate::record!), and gets from that one declaration its columns (names
//! carry the unit, in declaration order), its cells for CSV and JSON, and typed
//! reading back from a [`Table`] (by column name, so a reader of an older table
//! with fewer appended columns is told which one is missing).

use softmax_lab_core::DType;

use crate::kind::Kind;
use crate::table::{ColumnType, Key, Table, Value};

/// A Rust type that is one cell of a column.
pub trait Cell: Sized {
    /// The column type that holds it.
    const TYPE: ColumnType;
    /// The cell.
    fn to_value(&self) -> Value;
    /// Read a cell back (None: the cell is of another type or out of range).
    fn from_value(v: &Value) -> Option<Self>;
}

impl Cell for f64 {
    const TYPE: ColumnType = ColumnType::Float;
    fn to_value(&self) -> Value {
        Value::Float(*self)
    }
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Float(x) => Some(*x),
            _ => None,
        }
    }
}

impl Cell for i64 {
    const TYPE: ColumnType = ColumnType::Int;
    fn to_value(&self) -> Value {
        Value::Int(*self)
    }
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Int(x) => Some(*x),
            _ => None,
        }
    }
}

impl Cell for usize {
    const TYPE: ColumnType = ColumnType::Int;
    fn to_value(&self) -> Value {
        Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Int(x) => usize::try_from(*x).ok(),
            _ => None,
        }
    }
}

impl Cell for bool {
    const TYPE: ColumnType = ColumnType::Bool;
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Bool(x) => Some(*x),
            _ => None,
        }
    }
}

impl Cell for String {
    const TYPE: ColumnType = ColumnType::Text;
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Text(x) => Some(x.clone()),
            _ => None,
        }
    }
}

impl Cell for DType {
    const TYPE: ColumnType = ColumnType::Text;
    fn to_value(&self) -> Value {
        Value::Text(self.name().into())
    }
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Text(x) => x.parse().ok(),
            _ => None,
        }
    }
}

impl Cell for Kind {
    const TYPE: ColumnType = ColumnType::Text;
    fn to_value(&self) -> Value {
        Value::Text(self.name().into())
    }
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Text(x) => Kind::from_name(x),
            _ => None,
        }
    }
}

/// A row type of a results table.
pub trait Record: Sized {
    /// The columns, in order: names and types.
    fn columns() -> Vec<(&'static str, ColumnType)>;
    /// Per column of [`Record::columns`], the cell read from a table that lacks the
    /// column (one written before the column was added); `None`: the column is
    /// required.
    fn defaults() -> Vec<Option<Value>> {
        vec![None; Self::columns().len()]
    }
    /// The cells of this row, one per column.
    fn cells(&self) -> Vec<Value>;
    /// Read a row given, for each of [`Record::columns`], its cell.
    fn from_cells(cells: &[&Value]) -> Result<Self, String>;
}

/// The cell a field declared `= default` in [`record!`] reads as where its column
/// is missing (`None`: the field has no default).
pub fn default_cell<T: Cell>(default: Option<T>) -> Option<Value> {
    default.map(|d| d.to_value())
}

/// One field read from the cells by [`record!`]: the cell of column `name` as `T`.
pub fn field<T: Cell>(cells: &[&Value], i: usize, name: &str) -> Result<T, String> {
    let v = cells
        .get(i)
        .ok_or_else(|| format!("column '{name}' missing"))?;
    T::from_value(v).ok_or_else(|| format!("column '{name}': unexpected value {v:?}"))
}

impl Table {
    /// An empty table named `name` with the columns of `R`.
    pub fn of<R: Record>(name: &str) -> Table {
        Table::new(name, &R::columns())
    }

    /// A table of these records.
    pub fn from_records<'a, R: Record + 'a>(
        name: &str,
        records: impl IntoIterator<Item = &'a R>,
    ) -> Table {
        let mut t = Table::of::<R>(name);
        for r in records {
            t.push(r.cells());
        }
        t
    }

    /// The rows as records of type `R`, columns matched by name (a table may hold
    /// more columns than `R` reads; a column `R` declares with a default may be
    /// missing, and reads as that default). The error names the table, the row and
    /// the column.
    pub fn records<R: Record>(&self) -> Result<Vec<R>, String> {
        // Per column of R: its index in this table, or the default it reads as.
        let src: Vec<Result<usize, Value>> = R::columns()
            .iter()
            .zip(R::defaults())
            .map(
                |((name, _), declared)| match (self.column(name), declared) {
                    (Some(i), _) => Ok(Ok(i)),
                    (None, Some(v)) => Ok(Err(v)),
                    (None, None) => Err(format!("table '{}' has no column '{name}'", self.name)),
                },
            )
            .collect::<Result<_, _>>()?;
        self.rows
            .iter()
            .enumerate()
            .map(|(r, row)| {
                let cells: Vec<&Value> = src
                    .iter()
                    .map(|s| match s {
                        Ok(i) => &row[*i],
                        Err(v) => v,
                    })
                    .collect();
                R::from_cells(&cells)
                    .map_err(|e| format!("table '{}', row {}: {e}", self.name, r + 1))
            })
            .collect()
    }
}

impl Record for Key {
    fn columns() -> Vec<(&'static str, ColumnType)> {
        crate::table::KEY_COLUMNS.to_vec()
    }
    fn cells(&self) -> Vec<Value> {
        Key::cells(self)
    }
    fn from_cells(c: &[&Value]) -> Result<Self, String> {
        Ok(Key {
            scenario: field(c, 0, "scenario")?,
            kind: field(c, 1, "kind")?,
            variant: field(c, 2, "variant")?,
            dtype: field(c, 3, "dtype")?,
            n: field(c, 4, "n")?,
            rows: field(c, 5, "rows")?,
            generator: field(c, 6, "generator")?,
            temperature: field(c, 7, "temperature")?,
            scale: field(c, 8, "scale")?,
        })
    }
}

/// Declare a record type: a struct whose fields are the columns (each field's type
/// implements [`Cell`]), optionally starting with `pub key: Key` (the
/// [`KEY_COLUMNS`](crate::KEY_COLUMNS) first). Implements [`Record`].
///
/// A field written `pub name: T = default` is a column added after tables were
/// first written: a table without it reads as `default` (see [`Record::defaults`]);
/// every other column is required.
///
/// ```
/// softmax_lab_results::record! {
///     /// A toy row.
///     pub struct Toy {
///         /// A count.
///         pub count: usize,
///         /// A rate.
///         pub elems_per_s: f64,
///     }
/// }
/// use softmax_lab_results::Record;
/// assert_eq!(Toy::columns()[1].0, "elems_per_s");
/// ```
///
/// ```
/// softmax_lab_results::record! {
///     /// A toy row with a column added later.
///     pub struct Toy {
///         /// A count.
///         pub count: usize,
///         /// Added later: NaN in older tables.
///         pub ratio: f64 = f64::NAN,
///     }
/// }
/// use softmax_lab_results::{ColumnType, Record, Table, Value};
/// let mut old = Table::new("toy", &[("count", ColumnType::Int)]);
/// old.push(vec![Value::Int(3)]);
/// let rows = old.records::<Toy>().unwrap_or_default();
/// assert_eq!(rows[0].count, 3);
/// assert!(rows[0].ratio.is_nan());
/// ```
#[macro_export]
macro_rules! record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(#[$kmeta:meta])*
            pub key: Key,
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty $(= $default:expr)? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name {
            $(#[$kmeta])*
            pub key: $crate::Key,
            $( $(#[$fmeta])* pub $field: $ty ),*
        }
        impl $crate::Record for $name {
            fn columns() -> Vec<(&'static str, $crate::ColumnType)> {
                let mut c = <$crate::Key as $crate::Record>::columns();
                c.extend([$( (stringify!($field), <$ty as $crate::Cell>::TYPE) ),*]);
                c
            }
            fn defaults() -> Vec<Option<$crate::Value>> {
                let mut d = <$crate::Key as $crate::Record>::defaults();
                d.extend([$( $crate::record::default_cell::<$ty>(None $( .or(Some($default)) )?) ),*]);
                d
            }
            fn cells(&self) -> Vec<$crate::Value> {
                let mut c = self.key.cells();
                c.extend([$( $crate::Cell::to_value(&self.$field) ),*]);
                c
            }
            #[allow(unused_assignments)]
            fn from_cells(cells: &[&$crate::Value]) -> Result<Self, String> {
                let k = $crate::KEY_COLUMNS.len();
                let key = <$crate::Key as $crate::Record>::from_cells(&cells[..k.min(cells.len())])?;
                let mut i = k;
                Ok($name {
                    key,
                    $( $field: { let v = $crate::record::field(cells, i, stringify!($field))?; i += 1; v } ),*
                })
            }
        }
    };
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty $(= $default:expr)? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty ),*
        }
        impl $crate::Record for $name {
            fn columns() -> Vec<(&'static str, $crate::ColumnType)> {
                vec![$( (stringify!($field), <$ty as $crate::Cell>::TYPE) ),*]
            }
            fn defaults() -> Vec<Option<$crate::Value>> {
                vec![$( $crate::record::default_cell::<$ty>(None $( .or(Some($default)) )?) ),*]
            }
            fn cells(&self) -> Vec<$crate::Value> {
                vec![$( $crate::Cell::to_value(&self.$field) ),*]
            }
            #[allow(unused_assignments, unused_mut, unused_variables)]
            fn from_cells(cells: &[&$crate::Value]) -> Result<Self, String> {
                let mut i = 0;
                Ok($name {
                    $( $field: { let v = $crate::record::field(cells, i, stringify!($field))?; i += 1; v } ),*
                })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::record! {
        /// A keyed test row.
        pub struct Row {
            /// Where.
            pub key: Key,
            /// A float.
            pub max_ulp: f64,
            /// A count.
            pub samples: usize,
            /// A flag.
            pub ok: bool,
        }
    }

    fn key() -> Key {
        Key {
            scenario: "s".into(),
            kind: Kind::Accuracy,
            variant: "stable".into(),
            dtype: DType::F16,
            n: 8,
            rows: 2,
            generator: "normal".into(),
            temperature: 1.0,
            scale: 10.0,
        }
    }

    #[test]
    fn records_round_trip_through_csv_with_non_finite_cells() {
        let rows = vec![
            Row {
                key: key(),
                max_ulp: f64::INFINITY,
                samples: 16,
                ok: true,
            },
            Row {
                key: key(),
                max_ulp: 0.5,
                samples: 3,
                ok: false,
            },
        ];
        let t = Table::from_records("accuracy", &rows);
        assert_eq!(t.columns.len(), crate::KEY_COLUMNS.len() + 3);
        let back =
            Table::from_csv("accuracy", &t.columns, &t.to_csv()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.records::<Row>(), Ok(rows));
    }

    #[test]
    fn reading_names_the_missing_column_and_the_bad_cell() {
        let mut t = Table::from_records(
            "accuracy",
            &[Row {
                key: key(),
                max_ulp: 1.0,
                samples: 1,
                ok: true,
            }],
        );
        let i = t.column("samples").unwrap_or(0);
        t.rows[0][i] = Value::Text("x".into());
        let e = t.records::<Row>().unwrap_err();
        assert!(e.contains("row 1") && e.contains("'samples'"), "{e}");
        t.columns.retain(|c| c.name != "ok");
        for r in &mut t.rows {
            r.pop();
        }
        let e = t.records::<Row>().unwrap_err();
        assert!(e.contains("no column 'ok'"), "{e}");
    }
}
