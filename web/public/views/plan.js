// A session's plan (`plans/<slug>.md`, contract §6) on its Plan tab: the stored Markdown through
// the safe renderer (markdown.js builds DOM nodes only, so HTML or script in a plan shows as
// text and never runs). Drawn again only when the plan read again differs.

import { el } from '/common.js';
import { renderMarkdown } from '/markdown.js';
import { relativeTime } from '/views/format.js';
import { planShown } from '/select.js';

const $ = (id) => document.getElementById(id);

export function createPlan() {
  let drawn = null; // [slug, plan, minute] last drawn

  return {
    render(state, now) {
      const slug = planShown(state);
      $('plan').hidden = !slug;
      if (!slug) {
        drawn = null;
        return;
      }
      const plan = state.plans.get(slug);
      const minute = Math.floor(now / 60_000);
      if (drawn?.[0] === slug && drawn[1] === plan && drawn[2] === minute) return;
      drawn = [slug, plan, minute];
      $('plan').dataset.slug = slug;
      if (plan === undefined) {
        $('plan').replaceChildren(el('p', { class: 'muted' }, 'Loading the plan…'));
        return;
      }
      if (plan === null) {
        $('plan').replaceChildren(el('p', { class: 'muted' }, `The plan ${slug} is gone.`));
        return;
      }
      $('plan').replaceChildren(
        el('p', { class: 'plan-meta muted' }, `plans/${slug}.md`, plan.modifiedAt ? ` · updated ${relativeTime(plan.modifiedAt, now)}` : ''),
        el('article', { class: 'markdown plan-body' }, renderMarkdown(plan.markdown ?? '')));
    },
  };
}
