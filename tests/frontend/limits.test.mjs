import { test } from "node:test";
import assert from "node:assert/strict";

import { charCount, measure } from "../../frontend/js/limits.js";

test("characters are code points, as the server counts them", () => {
  assert.equal(charCount("abc"), 3);
  assert.equal(charCount("👍🏽"), 2); // four UTF-16 units, two code points
});

test("the counter shows near the limit and says by how much a message is over", () => {
  assert.deepEqual(measure("a".repeat(79), 100), { count: 79, show: false, over: false, excess: 0 });
  assert.deepEqual(measure("a".repeat(80), 100), { count: 80, show: true, over: false, excess: 0 });
  assert.deepEqual(measure("a".repeat(100), 100), { count: 100, show: true, over: false, excess: 0 });
  assert.deepEqual(measure("a".repeat(103), 100), { count: 103, show: true, over: true, excess: 3 });
  // What is sent is the trimmed text: surrounding blanks don't count.
  assert.equal(measure(`  ${"a".repeat(100)}\n\n`, 100).over, false);
});
