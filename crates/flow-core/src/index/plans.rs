//! Plans in the index (`plans/<slug>.md`, contract §6): each held as stored text with its
//! title, re-read only when its stamp changes, and linked to the sessions whose transcript
//! `slug` is the plan's. Requests never touch the disk.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use super::{Delta, Index, Stamp, list_dir, own_file_stamp};
use crate::read::read_capped_no_follow;

/// A plan is a page or two of Markdown; anything past this is not one (skipped, logged once).
const MAX_PLAN: u64 = 4 << 20;

#[derive(Debug)]
pub(super) struct PlanEntry {
    stamp: Stamp,
    /// `None` when the file could not be read as a plan at this version (logged once).
    text: Option<(Option<String>, String)>,
}

/// A plan as `/api/plans` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanSummary<'a> {
    pub slug: &'a str,
    pub title: Option<&'a str>,
    /// The stored text (invalid UTF-8 replaced), never rendered by Flow.
    pub markdown: &'a str,
    pub modified_at: SystemTime,
    /// Board ids of the sessions whose transcript slug is this plan's.
    pub session_ids: Vec<&'a str>,
}

impl Index {
    pub(super) fn relist_plans(&mut self, deltas: &mut Vec<Delta>) -> bool {
        let mut slugs: BTreeSet<String> = list_dir(&self.layout.plans_dir)
            .filter(|(_, is_dir)| !is_dir)
            .filter_map(|(name, _)| crate::plans::plan_slug(&name).map(str::to_owned))
            .collect();
        slugs.extend(self.plans.keys().cloned());
        let mut metadata = false;
        for slug in slugs {
            metadata |= self.refresh_plan(&slug, deltas);
        }
        metadata
    }

    /// Re-reads one plan if its stamp changed. Returns whether session items changed (a plan
    /// a session links to came or went: its `planSlug`).
    pub(super) fn refresh_plan(&mut self, slug: &str, deltas: &mut Vec<Delta>) -> bool {
        let path = self.layout.plans_dir.join(format!("{slug}.md"));
        let listed_before = self.has_plan(slug);
        match own_file_stamp(&path) {
            None => {
                if self.plans.remove(slug).is_none() {
                    return false;
                }
            }
            Some(stamp) if self.plans.get(slug).is_some_and(|p| p.stamp == stamp) => {
                return false;
            }
            Some(stamp) => {
                let text = read_capped_no_follow(&path, MAX_PLAN).map(|(_, bytes)| {
                    let markdown = String::from_utf8_lossy(&bytes).into_owned();
                    (crate::plans::title(&markdown), markdown)
                });
                self.plans
                    .insert(slug.to_owned(), PlanEntry { stamp, text });
            }
        }
        let listed = self.has_plan(slug);
        if listed || listed_before {
            deltas.push(Delta::PlanUpdate {
                slug: slug.to_owned(),
            });
        }
        listed != listed_before && self.transcripts.values().any(|t| slug_of(t) == Some(slug))
    }

    /// Every readable plan, newest first (ties by slug).
    pub fn plans(&self) -> Vec<PlanSummary<'_>> {
        let sessions = self.plan_sessions();
        let mut all: Vec<PlanSummary<'_>> = self
            .plans
            .keys()
            .filter_map(|slug| self.plan_with(slug, &sessions))
            .collect();
        all.sort_by(|a, b| {
            b.modified_at
                .cmp(&a.modified_at)
                .then_with(|| a.slug.cmp(b.slug))
        });
        all
    }

    /// One plan by slug.
    pub fn plan(&self, slug: &str) -> Option<PlanSummary<'_>> {
        let (slug, entry) = self.plans.get_key_value(slug)?;
        entry.text.as_ref()?;
        let sessions = self.plan_sessions_of(slug);
        self.plan_with(slug, &BTreeMap::from([(slug.as_str(), sessions)]))
    }

    /// Whether `plans/<slug>.md` is known and readable (what makes a session's `planSlug`).
    pub(super) fn has_plan(&self, slug: &str) -> bool {
        self.plans.get(slug).is_some_and(|p| p.text.is_some())
    }

    fn plan_with<'a>(
        &'a self,
        slug: &str,
        sessions: &BTreeMap<&str, Vec<&'a str>>,
    ) -> Option<PlanSummary<'a>> {
        let (slug, entry) = self.plans.get_key_value(slug)?;
        let (title, markdown) = entry.text.as_ref()?;
        Some(PlanSummary {
            slug,
            title: title.as_deref(),
            markdown,
            modified_at: entry.stamp.modified,
            session_ids: sessions.get(slug.as_str()).cloned().unwrap_or_default(),
        })
    }

    /// Slug → board ids of the sessions with that slug, for every plan (one pass).
    fn plan_sessions(&self) -> BTreeMap<&str, Vec<&str>> {
        let mut map: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (stem, t) in &self.transcripts {
            if let Some(slug) = slug_of(t).filter(|s| self.plans.contains_key(*s)) {
                map.entry(slug).or_default().push(self.board_id(stem));
            }
        }
        for ids in map.values_mut() {
            ids.sort_unstable();
            ids.dedup();
        }
        map
    }

    fn plan_sessions_of(&self, slug: &str) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .transcripts
            .iter()
            .filter(|(_, t)| slug_of(t) == Some(slug))
            .map(|(stem, _)| self.board_id(stem))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

fn slug_of(t: &super::TranscriptEntry) -> Option<&str> {
    t.cursor.as_ref()?.meta.slug.as_deref()
}
