// Shared wording of times for the views.

/** "just now", "5m ago", "3d ago": `now` is passed in so a frame's views agree. */
export function relativeTime(iso, now) {
  const secs = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (secs < 60) return 'just now';
  const units = [['y', 31536000], ['d', 86400], ['h', 3600], ['m', 60]];
  for (const [unit, size] of units) if (secs >= size) return `${Math.floor(secs / size)}${unit} ago`;
  return 'just now';
}
