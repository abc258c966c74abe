//! [`Filter`] as an engine [`Job`]: delivers the entities that match, in
//! input order, with the filter's raw-bytes rule-outs.

use crate::engine::{CandidateSearch, Job, Keep, QuickTest, RuleOut};
use crate::filter::{ByteSearch, Filter};
use crate::model::entity::Entity;

/// A [`Filter`] compiled for the [`Engine`](crate::Engine): its matches are
/// delivered ([`Out::Entity`](crate::Out::Entity)) in input order.
///
/// Records that cannot match are ruled out from their raw bytes when the
/// engine allows it ([`Parallel::prefilter`](crate::Parallel::prefilter)):
/// a user filter searches for the quoted ids, a time filter for the
/// `created_at` keys whose values may lie in the window (both for lines
/// and for the messages and members of a v1 document), and a kind filter
/// reads a line's kind from its structural index. The entities delivered
/// are the same either way.
///
/// Inherited channels (members, read states, reactions without a `cid`)
/// are resolved when the filter has a channel predicate, or when asked
/// with [`FilterJob::resolve_channels`]; otherwise such entities have no
/// [`Entity::cid`] — resolving them needs every channel record decoded,
/// which rules out the id search.
///
/// ```
/// use stream_chat_export::{Engine, Filter, FilterJob, Out, Parallel};
///
/// let data = b"{\"type\":\"channel\",\"item\":{\"cid\":\"messaging:a\",\"type\":\"messaging\",\"id\":\"a\"}}\n\
///              {\"type\":\"member\",\"item\":{\"user_id\":\"ann\",\"user\":{\"id\":\"ann\"}}}\n\
///              {\"type\":\"member\",\"item\":{\"user_id\":\"bob\",\"user\":{\"id\":\"bob\"}}}\n";
/// let mut filter = Filter::new();
/// filter.user("bob");
/// let job = FilterJob::new(filter).resolve_channels(true);
/// let engine = Engine::new(&Parallel::new())?;
/// let mut found = Vec::new();
/// let outcome = engine.run(&job).slice(data, |out| {
///     if let Out::Entity(e) = out {
///         found.push((e.user_id().unwrap().to_string(), e.cid().map(str::to_string)));
///     }
///     Ok(())
/// })?;
/// assert_eq!(found, [("bob".to_string(), Some("messaging:a".to_string()))]);
/// assert_eq!(outcome.report.entities, 3);
/// # Ok::<(), stream_chat_export::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FilterJob {
    filter: Filter,
    prefilter: Option<ByteSearch>,
    resolve: bool,
}

impl FilterJob {
    /// Compiles `filter` (the id search is built once, here).
    pub fn new(filter: Filter) -> FilterJob {
        FilterJob {
            prefilter: filter.prefilter(),
            filter,
            resolve: false,
        }
    }

    /// Resolve every inherited channel, even without a channel predicate
    /// (default off: a user filter then searches the raw bytes first).
    pub fn resolve_channels(mut self, yes: bool) -> FilterJob {
        self.resolve = yes;
        self
    }

    /// The filter.
    pub fn filter(&self) -> &Filter {
        &self.filter
    }
}

impl Job for FilterJob {
    type Partial = ();

    fn entity(&self, entity: &Entity<'_>, _: &mut ()) -> Keep {
        if self.filter.matches(entity) {
            Keep::Deliver
        } else {
            Keep::Done
        }
    }

    fn needs_context(&self) -> bool {
        self.resolve || self.filter.has_channels()
    }

    fn rule_out(&self) -> RuleOut<'_> {
        RuleOut {
            candidates: self.prefilter.as_ref().map(|p| p as &dyn CandidateSearch),
            quick: self
                .filter
                .quick_applies()
                .then_some(&self.filter as &dyn QuickTest),
        }
    }
}

impl CandidateSearch for ByteSearch {
    fn candidate_lines(&self, text: &[u8], f: &mut dyn FnMut(usize, usize)) -> u64 {
        self.candidate_lines_counting(text, f)
    }

    fn hits(&self, text: &[u8], f: &mut dyn FnMut(usize)) -> bool {
        let hits = match self {
            ByteSearch::Users(p) => p.hits_counting(text, false).0,
            // The `created_at` keys whose values may be in the window: in
            // a v1 document, a message or member holding none is out of
            // it, as a line is.
            ByteSearch::Time(p) => p.hits_counting(text).0,
        };
        hits.into_iter().for_each(f);
        true
    }
}

impl QuickTest for Filter {
    fn quick_pass(&self, type_name: &[u8], created_at: Option<&[u8]>) -> bool {
        Filter::quick_pass(self, type_name, created_at)
    }
}
