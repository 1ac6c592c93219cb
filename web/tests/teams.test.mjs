// Agent teams, plans and todos (contract §6) in real Chromium against the real server: the Teams
// view follows a member's tracker task and new inbox messages live, a team's task list shows its
// members beside the columns, a session's Plan tab renders its Markdown without ever running
// markup in it, and a session without a task list shows its todo items in Activity. Files are
// written the way Claude Code writes them; every wait is for an event's effect on the page.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tree, launch, task, artifacts, withBoard as withBoardOn } from './helpers.mjs';

const TEAM = 'blue-team';
const LEAD = 'aaaaaaaa-1111-4111-8111-111111111111';
const S1 = 'bbbbbbbb-2222-4222-8222-222222222222';
const T = 'dddddddd-4444-4444-8444-444444444444';
let browser;

before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const withBoard = (tree, hash, fn) => withBoardOn(browser, tree, fn, { hash });


let temps = 0;
/** Replaces a file the way Claude Code does: a whole new file renamed over the old one. */
function writeAtomic(tree, rel, text) {
  const temp = `${tree.root}.tmp-${process.pid}-${temps += 1}`;
  writeFileSync(temp, text);
  renameSync(temp, tree.path(rel));
}

const inboxPath = (member) => `teams/${TEAM}/inboxes/${member}.json`;

/** Appends a message to a member's inbox (a JSON array, pretty-printed as Claude Code does),
 * starting the inbox if the member has none yet. */
function appendInbox(tree, member, message) {
  const list = existsSync(tree.path(inboxPath(member))) ? JSON.parse(readFileSync(tree.path(inboxPath(member)), 'utf8')) : [];
  list.push(message);
  writeAtomic(tree, inboxPath(member), JSON.stringify(list, null, 2));
}

const at = (minutesAgo) => new Date(Date.now() - minutesAgo * 60_000).toISOString();
const protocol = (from, body, minutesAgo) => ({
  from, text: JSON.stringify({ ...body, from, timestamp: at(minutesAgo) }), timestamp: at(minutesAgo), read: true,
});

/** A tracker: the `_internal` task Claude Code keeps for each teammate, named after it. */
const tracker = (id, name, status) => task(id, status, { subject: name, description: `You are ${name}`, metadata: { _internal: true } });

/** A team of three as Claude Code leaves it mid-run: the lead, `lexer` working on task 1 (its
 * tracker in progress), `docs` idle (it said so). */
function seedTeam(tree) {
  const joined = Date.now() - 30 * 60_000;
  const member = (name, extra) => ({
    agentId: `${name}@${TEAM}`, name, agentType: 'general-purpose', model: 'claude-opus-4-6', joinedAt: joined,
    tmuxPaneId: 'in-process', cwd: '/home/dev/app', backendType: 'in-process', ...extra,
  });
  tree.write(`teams/${TEAM}/config.json`, JSON.stringify({
    name: TEAM, description: 'Build the parser', createdAt: joined, leadAgentId: `team-lead@${TEAM}`, leadSessionId: LEAD,
    members: [
      member('team-lead', { agentType: 'team-lead', tmuxPaneId: '', backendType: undefined }),
      member('lexer', { color: 'blue', prompt: 'Write the lexer' }),
      member('docs', { color: 'green', model: 'haiku', prompt: 'Document it' }),
    ],
  }, null, 2));
  tree.task(TEAM, task(1, 'in_progress', { subject: 'Write the lexer', owner: 'lexer' }))
    .task(TEAM, tracker(2, 'lexer', 'in_progress'))
    .task(TEAM, tracker(3, 'docs', 'in_progress'))
    .write(inboxPath('lexer'), JSON.stringify([
      { from: 'team-lead', text: 'Please write the **lexer** first.', summary: 'Lexer first', timestamp: at(20), read: true },
    ], null, 2))
    .write(inboxPath('team-lead'), JSON.stringify([
      protocol('docs', { type: 'idle_notification', idleReason: 'available' }, 10),
    ], null, 2));
}

const card = (page, root, name, state) => page.locator(`${root} .member[data-member="${name}"]${state ? `[data-state="${state}"]` : ''}`);
const messages = (page) => page.locator('#team-messages > li');

test('the Teams view follows a member\'s tracker task and new inbox messages live', async () => {
  const tree = new Tree();
  seedTeam(tree);
  await withBoard(tree, `#/teams/${TEAM}`, async (page) => {
    await card(page, '#team-list', 'lexer', 'working').waitFor();
    assert.equal(await page.locator('#view-title').textContent(), TEAM);
    assert.equal(await card(page, '#team-list', 'lexer').locator('.current').textContent(), 'Write the lexer');
    assert.equal(await card(page, '#team-list', 'docs').getAttribute('data-state'), 'idle');
    assert.equal(await card(page, '#team-list', 'team-lead').locator('.badge.lead').count(), 1);
    // The header counts the cards' states.
    const states = await page.locator('#team-list .member').evaluateAll((els) => els.map((e) => e.dataset.state));
    const tally = ['working', 'idle', 'stopped'].map((s) => [s, states.filter((x) => x === s).length]).filter(([, n]) => n);
    assert.equal(await page.locator(`.team[data-team="${TEAM}"] .team-counts`).textContent(), tally.map(([s, n]) => `${n} ${s}`).join(' · '));

    // The inbox as a conversation, oldest first: a message in Markdown, a protocol notice in one line.
    await messages(page).nth(1).waitFor();
    assert.equal(await messages(page).count(), 2);
    const first = messages(page).nth(0);
    assert.equal(await first.getAttribute('data-kind'), 'message');
    assert.equal(await first.locator('.summary').textContent(), 'Lexer first');
    assert.equal(await first.locator('.markdown strong').textContent(), 'lexer');
    const notice = messages(page).nth(1);
    assert.equal(await notice.getAttribute('data-kind'), 'idle_notification');
    assert.equal(await notice.locator('.what').textContent(), 'docs is idle (available)');
    assert.doesNotMatch(await page.locator('#team-messages').textContent(), /"type"|idle_notification/, 'no raw protocol JSON');

    // The lexer finishes: its task completes (no current task), then its tracker (stopped).
    tree.task(TEAM, task(1, 'completed', { subject: 'Write the lexer', owner: 'lexer' }));
    await page.locator(`#team-list .member[data-member="lexer"] .current.none`).waitFor();
    tree.task(TEAM, tracker(2, 'lexer', 'completed'));
    await card(page, '#team-list', 'lexer', 'stopped').waitFor();
    assert.equal(await card(page, '#team-list', 'docs').getAttribute('data-state'), 'idle', 'the others stay as they were');
    assert.match(await page.locator(`.team[data-team="${TEAM}"] .progress-text`).textContent(), /^1\/1 tasks$/);

    // A new message arrives (the inbox file replaced atomically): it is the newest, last.
    appendInbox(tree, 'team-lead', { from: 'docs', text: 'Docs are in `docs/parser.md`.', summary: 'Docs done', timestamp: at(0), read: false });
    await messages(page).nth(2).waitFor();
    const newest = messages(page).last();
    assert.equal(await newest.locator('.from').textContent(), 'docs');
    assert.equal(await newest.locator('.to').textContent(), '→ team-lead');
    assert.equal(await newest.locator('.markdown code').textContent(), 'docs/parser.md');
    assert.equal(await newest.locator('.badge.unread').count(), 1);
    // Then a shutdown request: told in one line too.
    appendInbox(tree, 'docs', protocol('team-lead', { type: 'shutdown_request', reason: 'Work complete' }, 0));
    await messages(page).nth(3).waitFor();
    assert.equal(await messages(page).last().locator('.what').textContent(), 'team-lead asks docs to shut down: Work complete');
    assert.match(await page.locator('#team-inbox-note').textContent(), /^4 messages, newest last$/);
    await page.screenshot({ path: join(artifacts, 'teams.png') });

    // All teams, and back into this one by its name.
    await page.click('#teams-back');
    await page.locator('.team-open').waitFor();
    assert.equal(await page.locator('#team-inbox').isHidden(), true);
    assert.match(page.url(), /#\/teams$/);
    await page.click('.team-open');
    await messages(page).nth(3).waitFor();
    assert.match(page.url(), new RegExp(`#/teams/${TEAM}$`));
  });
});

test('a team\'s task list shows its members beside the columns, live', async () => {
  const tree = new Tree();
  seedTeam(tree);
  tree.task(TEAM, task(4, 'pending', { subject: 'Write the parser' }));
  await withBoard(tree, `#/session/${TEAM}`, async (page) => {
    await page.locator('.card[data-task-id="4"]').waitFor();
    assert.equal(await page.locator('.card[data-task-id="2"]').count(), 0, 'trackers are not cards');
    await card(page, '#team-members', 'lexer', 'working').waitFor();
    assert.equal(await card(page, '#team-members', 'lexer').locator('.current').textContent(), 'Write the lexer');
    assert.equal(await page.locator('#team-members').isVisible(), true);
    await page.screenshot({ path: join(artifacts, 'team-board.png') });

    tree.task(TEAM, task(1, 'completed', { subject: 'Write the lexer', owner: 'lexer' }));
    tree.task(TEAM, tracker(2, 'lexer', 'completed'));
    await card(page, '#team-members', 'lexer', 'stopped').waitFor();
    await page.locator('.card[data-task-id="1"]').waitFor();
    assert.equal(await page.locator('.column[data-status="completed"] .card[data-task-id="1"]').count(), 1);

    await page.click('#team-members header .link');
    await page.locator(`.team[data-team="${TEAM}"]`).waitFor();
    assert.match(page.url(), new RegExp(`#/teams/${TEAM}$`));
  });
});

test('the Plan tab renders the plan\'s Markdown, never runs markup in it, and follows edits', async () => {
  const tree = new Tree();
  tree.task(S1, task(1, 'pending', { subject: 'Carry out the plan' }))
    .transcript('-home-dev-app', S1, [{ type: 'user', cwd: '/home/dev/app', sessionId: S1, slug: 'brave-otter', timestamp: new Date().toISOString() }])
    .write('plans/brave-otter.md', [
      '# Parser plan',
      '',
      '1. Write the **lexer**',
      '2. Then the `parser`',
      '',
      '<script>window.__pwned=1</script>',
      '<img src=x onerror="window.__pwned=2">',
      '[click](javascript:window.__pwned=3)',
      '',
    ].join('\n'));
  await withBoard(tree, `#/session/${S1}`, async (page) => {
    await page.locator('.card[data-task-id="1"]').waitFor();
    const tab = page.locator('#plan-tab');
    assert.equal(await tab.isVisible(), true, 'a session with a plan has a Plan tab');
    await tab.click();
    const plan = page.locator('#plan');
    await plan.locator('h2').waitFor();
    assert.equal(await plan.locator('h2').textContent(), 'Parser plan');
    assert.equal(await plan.locator('ol > li').count(), 2);
    assert.equal(await plan.locator('ol strong').textContent(), 'lexer');
    assert.equal(await page.locator('#board').isHidden(), true, 'the plan replaces the columns');
    assert.match(page.url(), new RegExp(`#/session/${S1}/plan$`));
    // Markup in the plan is text: nothing of it became an element, nothing ran.
    const text = await plan.textContent();
    assert.ok(text.includes('<script>window.__pwned=1</script>'), text);
    assert.ok(text.includes('<img src=x onerror="window.__pwned=2">'), text);
    assert.equal(await plan.locator('script, img, iframe, a[href^="javascript"]').count(), 0);
    assert.equal(await page.evaluate(() => typeof window.__pwned), 'undefined');
    await page.screenshot({ path: join(artifacts, 'plan.png') });

    // The agent revises its plan: the tab follows.
    writeAtomic(tree, 'plans/brave-otter.md', '# Parser plan, revised\n\n- [x] lexer\n- [ ] parser <b>now</b>\n');
    await plan.locator('h2', { hasText: 'Parser plan, revised' }).waitFor();
    assert.equal(await plan.locator('input[type="checkbox"]:checked').count(), 1);
    assert.ok((await plan.textContent()).includes('parser <b>now</b>'));
    assert.equal(await plan.locator('b').count(), 0);
    assert.equal(await page.evaluate(() => typeof window.__pwned), 'undefined');

    // Back to the board by its tab; the address follows.
    await page.click('[data-view="board"]');
    await page.locator('.card[data-task-id="1"]').waitFor();
    assert.match(page.url(), new RegExp(`#/session/${S1}$`));
  });
});

test('a session without a task list shows its todo items in Activity, live', async () => {
  const tree = new Tree();
  tree.transcript('-home-dev-tool', T, [
    { type: 'user', cwd: '/home/dev/tool', sessionId: T, timestamp: new Date().toISOString() },
    { type: 'custom-title', customTitle: 'Todo only' },
  ]);
  const todos = (items) => JSON.stringify(items, null, 2);
  tree.write(`todos/${T}-agent-${T}.json`, todos([
    { content: 'Read the code', status: 'completed', activeForm: 'Reading the code' },
    { content: 'Fix the bug', status: 'in_progress', activeForm: 'Fixing the bug' },
    { content: 'Write a test', status: 'pending', activeForm: 'Writing a test' },
  ]));
  await withBoard(tree, `#/activity/${T}`, async (page) => {
    const items = page.locator('#activity-detail .todo');
    await items.nth(2).waitFor();
    assert.deepEqual(await items.evaluateAll((els) => els.map((e) => [e.dataset.status, e.querySelector('.content').textContent])), [
      ['completed', 'Read the code'], ['in_progress', 'Fixing the bug'], ['pending', 'Write a test'],
    ]);
    writeAtomic(tree, `todos/${T}-agent-${T}.json`, todos([
      { content: 'Read the code', status: 'completed', activeForm: 'Reading the code' },
      { content: 'Fix the bug', status: 'completed', activeForm: 'Fixing the bug' },
      { content: 'Write a test', status: 'in_progress', activeForm: 'Writing a test' },
    ]));
    await page.locator('#activity-detail .todo[data-status="in_progress"]', { hasText: 'Writing a test' }).waitFor();
    assert.equal(await page.locator('#activity-detail .todo[data-status="completed"]').count(), 2);
  });
});
