// The board's moves: drag a card to another column, or use its "Move to" menu. Either way the
// card moves at once, the JSON API is called, and when it refuses the card goes back where it
// was with a message. Viewers get no draggable cards and no menus (the server leaves them out).
// Uses app.js's window.ocdToast / ocdRefresh / ocdHold / ocdRelease.

const base = document.documentElement.dataset.base || "";
let dragged = null;

function columnOf(el) {
  return el?.closest?.(".column[data-status]");
}

function recount() {
  for (const column of document.querySelectorAll(".column[data-status]")) {
    const count = column.querySelector(".column-head .count");
    if (count) count.textContent = column.querySelectorAll(".cards > .card").length;
    const empty = column.querySelector(".column-empty");
    if (empty) empty.hidden = column.querySelector(".cards > .card") !== null;
  }
}

function titleOf(card) {
  return card.querySelector(".card-title")?.textContent?.trim() || card.dataset.id;
}

/// Moves `card` to `status`: optimistic, rolled back when the API says no.
async function move(card, status) {
  if (card.dataset.status === status) return;
  const from = card.parentElement;
  const next = card.nextElementSibling;
  const previous = card.dataset.status;
  const target = document.querySelector(`.column[data-status="${CSS.escape(status)}"] .cards`);
  window.ocdHold?.();
  if (target) target.prepend(card);
  else card.hidden = true; // its column is hidden (cancelled): it leaves the board
  card.dataset.status = status;
  card.classList.add("moving");
  recount();
  try {
    const response = await fetch(`${base}/api/todos`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ id: card.dataset.id, status }),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.error || `${response.status} ${response.statusText}`);
    }
  } catch (error) {
    from.insertBefore(card, next);
    card.hidden = false;
    card.dataset.status = previous;
    recount();
    window.ocdToast?.(`Could not move “${titleOf(card)}”: ${error.message}`);
  } finally {
    card.classList.remove("moving");
    window.ocdRelease?.();
    window.ocdRefresh?.();
  }
}

document.addEventListener("dragstart", (event) => {
  const card = event.target.closest?.(".card[draggable='true']");
  if (!card) return;
  dragged = card;
  card.classList.add("dragging");
  window.ocdHold?.();
  event.dataTransfer.effectAllowed = "move";
  event.dataTransfer.setData("text/plain", card.dataset.id);
});

document.addEventListener("dragend", () => {
  dragged?.classList.remove("dragging");
  for (const c of document.querySelectorAll(".column.drop-target")) c.classList.remove("drop-target");
  if (dragged) window.ocdRelease?.();
  dragged = null;
});

document.addEventListener("dragover", (event) => {
  const column = columnOf(event.target);
  if (!dragged || !column) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = "move";
  for (const c of document.querySelectorAll(".column.drop-target")) if (c !== column) c.classList.remove("drop-target");
  column.classList.add("drop-target");
});

document.addEventListener("drop", (event) => {
  const column = columnOf(event.target);
  if (!dragged || !column) return;
  event.preventDefault();
  const card = dragged;
  column.classList.remove("drop-target");
  move(card, column.dataset.status);
});

// The card menu's "Move to" buttons: the same move, without leaving the page.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.matches?.(".card-menu form")) return;
  const status = event.submitter?.value;
  const card = form.closest(".card");
  if (!status || !card) return;
  event.preventDefault();
  form.closest("details")?.removeAttribute("open");
  move(card, status);
});
