//! What a connector declares it can serve, and the one place that decides what is pushed down.
//!
//! Connectors declare columns × operators (and sortable columns, limit support); they never decide
//! themselves. The rules that keep results identical to a local run live here:
//! - a condition is pushed only if declared for its column and operator;
//! - a `Superset` condition is pushed *and* kept for local recheck (the provider may return extra rows);
//! - a condition the provider cannot serve may be sent as a weaker declared one (`>` as `>=`, `<` as `<=`)
//!   and rechecked: the provider returns a superset;
//! - a sort is pushed only as a whole, and only with the null ordering the provider produces, unless no
//!   row can have a NULL in the sorted column (a pushed condition on it that NULL never satisfies), or the
//!   provider filters the first key's NULLs exactly (`IS NULL`, `IS NOT NULL`): the scan then reads the NULL
//!   rows and the others in two phases, in the order Postgres wants ([`NullSplit`]);
//! - LIMIT/OFFSET are pushed only when every condition was pushed exactly and, with ORDER BY, the sort too;
//! - `count(*)` is answered from the provider's total only when every condition was pushed exactly and the
//!   table declares that its answers carry a total of the rows the request matches.
//! - a join condition `column = <other table's column>` parameterizes the scan (one scan, so one request
//!   for a key, per outer row) only where `=` on the column is pushed as above (see [`parameterizable`]).

use crate::model::{NullSplit, Op, Sort};

/// How faithfully a provider applies a pushed condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// The provider returns exactly the rows Postgres would keep.
    Exact,
    /// The provider returns at least those rows (e.g. case-insensitive matching); Postgres rechecks.
    Superset,
}

/// Where a provider sorts nulls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NullOrder {
    /// Nulls compare larger than every value: last ascending, first descending (Postgres' default).
    Largest,
    /// Nulls compare smaller than every value.
    Smallest,
    /// Nulls come last whichever the direction (Notion's empty values).
    Last,
    /// The provider places nulls where each sort key asks (SOQL's `NULLS FIRST | NULLS LAST`).
    AsAsked,
}

#[derive(Clone, Debug, PartialEq)]
struct FilterCap {
    column: String,
    op: Op,
    support: Support,
}

/// A condition the provider needs in every query (e.g. Slack history needs a channel).
#[derive(Clone, Debug, PartialEq)]
pub struct Requirement {
    pub column: String,
    pub ops: Vec<Op>,
    pub message: String,
    /// What to write instead (`Add WHERE channel = '<channel id>' …`).
    pub hint: Option<String>,
}

impl Requirement {
    /// The error of a query that does not meet the requirement, with its hint.
    pub fn error(&self) -> crate::error::Error {
        let error = crate::error::Error::new(crate::error::ErrorKind::MissingCondition, self.message.clone());
        match &self.hint {
            Some(hint) => error.with_hint(hint.clone()),
            None => error,
        }
    }
}

/// A table's declaration of what it can push down.
#[derive(Clone, Debug, PartialEq)]
pub struct Capabilities {
    filters: Vec<FilterCap>,
    sortable: Vec<String>,
    /// Sortable columns that are never null, whose null order does not matter.
    never_null: Vec<String>,
    max_sort_keys: usize,
    null_order: NullOrder,
    limit: bool,
    offset: bool,
    /// Answers tell the total of the rows the request matches (not only of the page).
    total: bool,
    required: Vec<Requirement>,
    /// Columns whose `=` is served by an item lookup only when it is the scan's only condition (with
    /// others the list is read whole).
    lookup_only: Vec<String>,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            filters: Vec::new(),
            sortable: Vec::new(),
            never_null: Vec::new(),
            max_sort_keys: 1,
            null_order: NullOrder::Largest,
            limit: false,
            offset: false,
            total: false,
            required: Vec::new(),
            lookup_only: Vec::new(),
        }
    }
}

impl Capabilities {
    pub fn new() -> Self {
        Self::default()
    }

    /// Declare that `column` can be filtered with each of `ops`, exactly.
    pub fn filter(mut self, column: &str, ops: &[Op]) -> Self {
        self.add_filters(column, ops, Support::Exact);
        self
    }

    /// Declare filters the provider applies loosely; Postgres rechecks them.
    pub fn filter_superset(mut self, column: &str, ops: &[Op]) -> Self {
        self.add_filters(column, ops, Support::Superset);
        self
    }

    pub fn add_filters(&mut self, column: &str, ops: &[Op], support: Support) {
        for &op in ops {
            self.filters.retain(|f| !(f.column == column && f.op == op));
            self.filters.push(FilterCap { column: column.to_string(), op, support });
        }
    }

    /// Declare that `column = value` is served by one item request (`GET /customers/{id}`) only when it is
    /// the scan's only condition; with other conditions the provider reads the list and Postgres rechecks.
    pub fn add_lookup_only(&mut self, column: &str) {
        if !self.lookup_only.iter().any(|c| c == column) {
            self.lookup_only.push(column.to_string());
        }
    }

    pub fn sortable(mut self, column: &str) -> Self {
        self.add_sortable(column);
        self
    }

    pub fn add_sortable(&mut self, column: &str) {
        if !self.sortable.iter().any(|c| c == column) {
            self.sortable.push(column.to_string());
        }
    }

    /// Declare a sortable column that is never null (a creation time): any null order is served.
    pub fn add_never_null(&mut self, column: &str) {
        self.add_sortable(column);
        self.never_null.push(column.to_string());
    }

    pub fn max_sort_keys(mut self, n: usize) -> Self {
        self.max_sort_keys = n;
        self
    }

    pub fn null_order(mut self, order: NullOrder) -> Self {
        self.null_order = order;
        self
    }

    pub fn limit(mut self, offset_too: bool) -> Self {
        self.limit = true;
        self.offset = offset_too;
        self
    }

    /// Declare that the provider's answers tell how many rows the whole request matches (`X-Total-Count`,
    /// a `total` member), whatever the page size: `count(*)` can then be one request.
    pub fn total(mut self) -> Self {
        self.total = true;
        self
    }

    pub fn require(mut self, column: &str, ops: &[Op], message: &str) -> Self {
        self.required.push(Requirement {
            column: column.into(),
            ops: ops.to_vec(),
            message: message.into(),
            hint: None,
        });
        self
    }

    /// Set the hint of the requirement on `column` (see [`Capabilities::require`]).
    pub fn requirement_hint(mut self, column: &str, hint: &str) -> Self {
        for requirement in self.required.iter_mut().filter(|r| r.column == column) {
            requirement.hint = Some(hint.into());
        }
        self
    }

    pub fn filter_support(&self, column: &str, op: Op) -> Option<Support> {
        self.filters.iter().find(|f| f.column == column && f.op == op).map(|f| f.support)
    }

    /// Whether the provider can return rows in exactly this order.
    pub fn can_sort(&self, sorts: &[Sort]) -> bool {
        self.can_sort_without_nulls(sorts, &[])
    }

    /// Whether the provider can return rows in exactly this order when no row has a NULL in the columns
    /// `never_null` (where the provider puts NULLs then does not matter).
    pub fn can_sort_without_nulls(&self, sorts: &[Sort], never_null: &[&str]) -> bool {
        !sorts.is_empty()
            && sorts.len() <= self.max_sort_keys
            && sorts.iter().all(|s| {
                let provider_nulls_first = match self.null_order {
                    NullOrder::Largest => s.desc,
                    NullOrder::Smallest => !s.desc,
                    NullOrder::Last => false,
                    NullOrder::AsAsked => s.nulls_first,
                };
                self.sortable.contains(&s.column)
                    && (s.nulls_first == provider_nulls_first
                        || never_null.contains(&s.column.as_str())
                        || self.never_null.contains(&s.column))
            })
    }

    pub fn supports_limit(&self) -> bool {
        self.limit
    }

    pub fn supports_offset(&self) -> bool {
        self.offset
    }

    pub fn tells_total(&self) -> bool {
        self.total
    }

    pub fn requirements(&self) -> &[Requirement] {
        &self.required
    }

    /// Pushable (column, operator) pairs, for documentation and EXPLAIN.
    pub fn declared_filters(&self) -> impl Iterator<Item = (&str, Op, Support)> {
        self.filters.iter().map(|f| (f.column.as_str(), f.op, f.support))
    }
}

/// A condition the planner found in the query, in a form a connector could serve.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub column: String,
    pub op: Op,
}

/// The fate of one of the query's conditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Sent to the provider and not checked again.
    Remote,
    /// Sent to the provider and rechecked by Postgres.
    RemoteAndLocal,
    /// Checked by Postgres only.
    Local,
}

/// The pushdown decision for one scan.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// One entry per condition of the query, in order.
    pub placements: Vec<Placement>,
    pub sort_pushed: bool,
    /// The pushed sort needs two phases, NULLs of its first key apart.
    pub null_split: Option<NullSplit>,
    /// LIMIT/OFFSET may be pushed: every condition is `Remote`, and the query's order (if any) is pushed.
    pub limit_pushable: bool,
    /// `count(*)` may come from the provider's total: every condition is `Remote` and answers tell a total.
    pub count_pushable: bool,
    /// For each condition sent to the provider, the operator it is sent with: its own, or the weaker one
    /// the provider declares (`>=` for `>`); `None` for conditions kept local.
    pub sent_ops: Vec<Option<Op>>,
}

impl Decision {
    pub fn all_remote(&self) -> bool {
        self.placements.iter().all(|p| *p == Placement::Remote)
    }
}

/// Decide what to push. `conditions` has one entry per condition of the query: `Some` when it has a
/// pushable shape, `None` when it can only be evaluated locally. `sorts` is the query's ORDER BY when every
/// key is a plain column, empty otherwise (`has_order` tells whether the query orders at all).
pub fn decide(
    caps: &Capabilities,
    conditions: &[Option<Candidate>],
    sorts: &[Sort],
    has_order: bool,
    enabled: bool,
) -> Decision {
    let (placements, sent_ops): (Vec<Placement>, Vec<Option<Op>>) = conditions
        .iter()
        .map(|c| match c {
            Some(c) if enabled => match caps.filter_support(&c.column, c.op) {
                Some(Support::Exact) => (Placement::Remote, Some(c.op)),
                Some(Support::Superset) => (Placement::RemoteAndLocal, Some(c.op)),
                // A weaker operator the provider has returns a superset, which Postgres rechecks.
                None => match c.op.relaxed().filter(|&weaker| caps.filter_support(&c.column, weaker).is_some()) {
                    Some(weaker) => (Placement::RemoteAndLocal, Some(weaker)),
                    None => (Placement::Local, None),
                },
            },
            // Without pushdown, a condition the provider cannot do without is still sent, and checked by
            // Postgres as well, so the table can be read at all.
            Some(c) if caps.required.iter().any(|r| r.column == c.column && r.ops.contains(&c.op)) => {
                match caps.filter_support(&c.column, c.op) {
                    Some(_) => (Placement::RemoteAndLocal, Some(c.op)),
                    None => (Placement::Local, None),
                }
            }
            _ => (Placement::Local, None),
        })
        .unzip();
    // A column some pushed condition constrains holds no NULL in the rows that reach the sort: every
    // operator but IS NULL is false (or unknown) for NULL.
    let never_null: Vec<&str> = conditions
        .iter()
        .zip(&placements)
        .filter_map(|(c, p)| c.as_ref().filter(|c| *p != Placement::Local && c.op != Op::IsNull))
        .map(|c| c.column.as_str())
        .collect();
    let in_one_phase = enabled && caps.can_sort_without_nulls(sorts, &never_null);
    let null_split = if enabled && !in_one_phase { null_split(caps, sorts, &never_null) } else { None };
    let sort_pushed = in_one_phase || null_split.is_some();
    let all_remote = placements.iter().all(|p| *p == Placement::Remote);
    let limit_pushable = enabled && caps.limit && all_remote && (!has_order || sort_pushed);
    let count_pushable = enabled && caps.total && all_remote;
    Decision { placements, sort_pushed, null_split, limit_pushable, count_pushable, sent_ops }
}

/// The two phases that serve `sorts` when only the first key's NULL placement is wrong and the provider
/// filters that column's NULLs exactly: within each phase that column is all NULL or has none.
fn null_split(caps: &Capabilities, sorts: &[Sort], never_null: &[&str]) -> Option<NullSplit> {
    let first = sorts.first()?;
    let exact = |op| caps.filter_support(&first.column, op) == Some(Support::Exact);
    let mut assumed = never_null.to_vec();
    assumed.push(first.column.as_str());
    (exact(Op::IsNull) && exact(Op::IsNotNull) && caps.can_sort_without_nulls(sorts, &assumed))
        .then(|| NullSplit { column: first.column.clone(), nulls_first: first.nulls_first })
}

/// Whether a scan may be parameterized by the join condition `column = <outer value>`: run once per outer
/// row with the value sent as `=`, which costs one request (for a key) instead of reading the whole table
/// once. Only where `=` on the column is pushed (an exact or superset match; a superset is rechecked as
/// any pushed condition), and, for a column the provider serves by an item lookup alone, when no other
/// condition is sent (`others_sent`), else each outer row would read the whole list.
pub fn parameterizable(caps: &Capabilities, column: &str, others_sent: bool, enabled: bool) -> bool {
    enabled
        && caps.filter_support(column, Op::Eq).is_some()
        && !(others_sent && caps.lookup_only.iter().any(|c| c == column))
}

/// The requirement the pushed conditions do not satisfy, if any.
pub fn unmet_requirement<'a>(caps: &'a Capabilities, pushed: &[Candidate]) -> Option<&'a Requirement> {
    caps.required.iter().find(|r| !pushed.iter().any(|c| c.column == r.column && r.ops.contains(&c.op)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(column: &str, op: Op) -> Option<Candidate> {
        Some(Candidate { column: column.into(), op })
    }

    fn sort(column: &str, desc: bool) -> Sort {
        Sort { column: column.into(), desc, nulls_first: desc }
    }

    fn caps() -> Capabilities {
        Capabilities::new()
            .filter("country", &[Op::Eq, Op::In])
            .filter("amount", &[Op::Ge, Op::Le])
            .filter_superset("name", &[Op::Eq])
            .sortable("amount")
            .limit(false)
    }

    #[test]
    fn declared_conditions_are_pushed_and_limit_follows() {
        let d =
            decide(&caps(), &[cand("country", Op::Eq), cand("amount", Op::Ge)], &[sort("amount", true)], true, true);
        assert_eq!(d.placements, vec![Placement::Remote, Placement::Remote]);
        assert!(d.sort_pushed);
        assert!(d.limit_pushable);
    }

    #[test]
    fn an_undeclared_operator_stays_local_and_blocks_limit() {
        let d = decide(&caps(), &[cand("country", Op::Eq), cand("amount", Op::Ne)], &[], false, true);
        assert_eq!(d.placements, vec![Placement::Remote, Placement::Local]);
        assert!(!d.limit_pushable);
    }

    #[test]
    fn an_unshaped_condition_blocks_limit() {
        let d = decide(&caps(), &[cand("country", Op::Eq), None], &[], false, true);
        assert_eq!(d.placements, vec![Placement::Remote, Placement::Local]);
        assert!(!d.limit_pushable);
    }

    #[test]
    fn superset_conditions_are_rechecked_and_block_limit() {
        let d = decide(&caps(), &[cand("name", Op::Eq)], &[], false, true);
        assert_eq!(d.placements, vec![Placement::RemoteAndLocal]);
        assert!(!d.limit_pushable);
    }

    #[test]
    fn an_unpushed_order_blocks_limit() {
        let d = decide(&caps(), &[cand("country", Op::Eq)], &[sort("name", false)], true, true);
        assert!(!d.sort_pushed);
        assert!(!d.limit_pushable);
        // An order that is not on plain columns arrives as an empty sort list but still counts.
        let d = decide(&caps(), &[], &[], true, true);
        assert!(!d.limit_pushable);
    }

    #[test]
    fn null_order_must_match_the_provider() {
        let c = caps();
        assert!(c.can_sort(&[Sort { column: "amount".into(), desc: false, nulls_first: false }]));
        assert!(!c.can_sort(&[Sort { column: "amount".into(), desc: false, nulls_first: true }]));
        let c = c.null_order(NullOrder::Smallest);
        assert!(c.can_sort(&[Sort { column: "amount".into(), desc: false, nulls_first: true }]));
        let c = c.null_order(NullOrder::Last);
        assert!(c.can_sort(&[Sort { column: "amount".into(), desc: false, nulls_first: false }]));
        assert!(c.can_sort(&[Sort { column: "amount".into(), desc: true, nulls_first: false }]));
        assert!(!c.can_sort(&[Sort { column: "amount".into(), desc: true, nulls_first: true }]));
        let c = c.null_order(NullOrder::AsAsked);
        for (desc, nulls_first) in [(false, false), (false, true), (true, false), (true, true)] {
            assert!(c.can_sort(&[Sort { column: "amount".into(), desc, nulls_first }]));
        }
    }

    #[test]
    fn sort_key_count_is_bounded() {
        let c = caps().sortable("country");
        assert!(!c.can_sort(&[sort("amount", false), sort("country", false)]));
        assert!(c.clone().max_sort_keys(2).can_sort(&[sort("amount", false), sort("country", false)]));
    }

    #[test]
    fn strict_operators_go_through_weaker_declared_ones_and_are_rechecked() {
        let d = decide(&caps(), &[cand("amount", Op::Gt), cand("amount", Op::Lt)], &[], false, true);
        assert_eq!(d.placements, vec![Placement::RemoteAndLocal, Placement::RemoteAndLocal]);
        assert_eq!(d.sent_ops, vec![Some(Op::Ge), Some(Op::Le)]);
        assert!(!d.limit_pushable, "the provider's extra rows must be removed before a limit");
        // Nothing weaker is declared for `<>` or for `>` on another column.
        let d = decide(&caps(), &[cand("amount", Op::Ne), cand("country", Op::Gt)], &[], false, true);
        assert_eq!(d.placements, vec![Placement::Local, Placement::Local]);
        assert_eq!(d.sent_ops, vec![None, None]);
    }

    #[test]
    fn null_order_does_not_matter_when_a_pushed_condition_excludes_nulls() {
        let c = caps().null_order(NullOrder::Smallest);
        // Postgres' DESC puts NULLs first; this provider puts them last.
        let desc = [sort("amount", true)];
        assert!(!decide(&c, &[], &desc, true, true).sort_pushed);
        let d = decide(&c, &[cand("amount", Op::Ge)], &desc, true, true);
        assert!(d.sort_pushed && d.limit_pushable);
        // A condition kept local, or IS NULL, does not count.
        assert!(!decide(&c, &[cand("amount", Op::Ne)], &desc, true, true).sort_pushed);
        let c = c.filter("amount", &[Op::IsNull]);
        assert!(!decide(&c, &[cand("amount", Op::IsNull)], &desc, true, true).sort_pushed);
    }

    #[test]
    fn count_needs_a_total_and_every_condition_pushed_exactly() {
        let c = caps().total();
        assert!(decide(&c, &[], &[], false, true).count_pushable);
        assert!(decide(&c, &[cand("country", Op::Eq), cand("amount", Op::Ge)], &[], false, true).count_pushable);
        // An order does not matter to a count.
        assert!(decide(&c, &[cand("country", Op::Eq)], &[sort("name", false)], true, true).count_pushable);
        // A condition kept local, a superset or a weaker operator would count rows Postgres drops.
        assert!(!decide(&c, &[cand("country", Op::Eq), None], &[], false, true).count_pushable);
        assert!(!decide(&c, &[cand("name", Op::Eq)], &[], false, true).count_pushable);
        assert!(!decide(&c, &[cand("amount", Op::Gt)], &[], false, true).count_pushable);
        // No total declared, or pushdown off.
        assert!(!decide(&caps(), &[cand("country", Op::Eq)], &[], false, true).count_pushable);
        assert!(!decide(&c, &[cand("country", Op::Eq)], &[], false, false).count_pushable);
    }

    #[test]
    fn nulls_placed_elsewhere_split_the_sort_when_the_provider_filters_them() {
        // Airtable: blanks sort as the smallest value; Postgres' DESC wants NULLs first.
        let c = caps().null_order(NullOrder::Smallest).max_sort_keys(2).sortable("country");
        let desc = [sort("amount", true)];
        let d = decide(&c, &[], &desc, true, true);
        assert!(!d.sort_pushed && d.null_split.is_none(), "no IS NULL/IS NOT NULL filter: sorted by Postgres");
        let c = c.filter("amount", &[Op::IsNull, Op::IsNotNull]);
        let d = decide(&c, &[cand("country", Op::Eq)], &desc, true, true);
        assert_eq!(d.null_split, Some(NullSplit { column: "amount".into(), nulls_first: true }));
        assert!(d.sort_pushed && d.limit_pushable);
        assert_eq!(d.null_split.unwrap().phase_ops(), [Op::IsNull, Op::IsNotNull]);
        // ASC NULLS LAST where blanks come first: the non-NULL rows first.
        let asc = [Sort { column: "amount".into(), desc: false, nulls_first: false }];
        assert_eq!(decide(&c, &[], &asc, true, true).null_split.unwrap().phase_ops(), [Op::IsNotNull, Op::IsNull]);
        // The provider's own order, or a pushed condition that excludes NULLs: one phase.
        let desc_nulls_last = Sort { column: "amount".into(), desc: true, nulls_first: false };
        let d = decide(&c, &[], &[desc_nulls_last], true, true);
        assert!(d.sort_pushed && d.null_split.is_none());
        let d = decide(&c, &[cand("amount", Op::Ge)], &desc, true, true);
        assert!(d.sort_pushed && d.null_split.is_none());
        // Only the first key is split: a later key must already have the right NULL placement.
        let d = decide(&c, &[], &[sort("amount", true), sort("country", false)], true, true);
        assert!(!d.sort_pushed && d.null_split.is_none());
        let country_nulls_first = Sort { column: "country".into(), desc: false, nulls_first: true };
        let d = decide(&c, &[], &[sort("amount", true), country_nulls_first], true, true);
        assert!(d.sort_pushed && d.null_split.is_some());
        // A loose IS NULL filter would mix the phases.
        let c = caps()
            .null_order(NullOrder::Smallest)
            .filter("amount", &[Op::IsNotNull])
            .filter_superset("amount", &[Op::IsNull]);
        assert!(decide(&c, &[], &desc, true, true).null_split.is_none());
        assert!(decide(&caps().filter("amount", &[Op::IsNull, Op::IsNotNull]), &[], &desc, true, false)
            .null_split
            .is_none());
    }

    #[test]
    fn disabled_pushdown_keeps_everything_local() {
        let d = decide(&caps(), &[cand("country", Op::Eq)], &[sort("amount", true)], true, false);
        assert_eq!(d.placements, vec![Placement::Local]);
        assert!(!d.sort_pushed && !d.limit_pushable);
    }

    #[test]
    fn disabled_pushdown_still_sends_required_conditions_and_rechecks_them() {
        let c = Capabilities::new().filter("channel", &[Op::Eq]).filter("ts", &[Op::Gt]).require(
            "channel",
            &[Op::Eq],
            "needs a channel",
        );
        let d = decide(&c, &[cand("channel", Op::Eq), cand("ts", Op::Gt)], &[], false, false);
        assert_eq!(d.placements, vec![Placement::RemoteAndLocal, Placement::Local]);
        assert!(!d.limit_pushable);
    }

    #[test]
    fn joins_parameterize_only_columns_with_a_pushed_equality() {
        let c = caps().filter("id", &[Op::In]);
        assert!(parameterizable(&c, "country", false, true));
        assert!(parameterizable(&c, "name", true, true), "a superset is sent and rechecked");
        assert!(!parameterizable(&c, "amount", false, true), "only >= and <= are declared");
        assert!(!parameterizable(&c, "id", false, true), "IN alone is no `=`");
        assert!(!parameterizable(&c, "country", false, false), "pushdown off");
        let mut c = Capabilities::new().filter_superset("id", &[Op::Eq]);
        c.add_lookup_only("id");
        assert!(parameterizable(&c, "id", false, true));
        assert!(!parameterizable(&c, "id", true, true), "the lookup serves the key alone");
    }

    #[test]
    fn requirements_name_the_missing_condition() {
        let c = Capabilities::new().filter("channel", &[Op::Eq]).require("channel", &[Op::Eq], "needs a channel");
        assert!(unmet_requirement(&c, &[]).is_some());
        assert!(unmet_requirement(&c, &[Candidate { column: "channel".into(), op: Op::Eq }]).is_none());
    }
}
