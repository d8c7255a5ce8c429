// The boards' moves (the tickets' and Linear's): drag a card to another column, or use its
// "Move to" menu. Either way the card moves at once, the JSON API is called, and when it
// refuses the card goes back where it was with a message. Viewers get no draggable cards and no menus (the server leaves them out).
// Uses app.js's window.ocdToast / ocdRefresh / ocdHold / ocdRelease.

const base = document.documentElement.dataset.base || "";
let dragged = null;

/// The column under `el` that the dragged card may go to (a Linear card stays in its team).
function columnOf(el) {
  const column = el?.closest?.(".column[data-status]");
  if (column && dragged?.dataset.team && column.dataset.team !== dragged.dataset.team) return null;
  return column;
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
    // A Linear card changes its issue in Linear (PATCH /api/linear/sync); a ticket, the todo.
    const [method, path, body] = card.dataset.issue
      ? ["PATCH", "/api/linear/sync", { issueId: card.dataset.issue, stateId: status }]
      : ["POST", "/api/todos", { id: card.dataset.id, status }];
    const response = await fetch(`${base}${path}`, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.error || `${response.status} ${response.statusText}`);
    }
  } catch (error) {
    // Back where it was (after its old neighbour, if that is still there).
    from.insertBefore(card, next?.parentNode === from ? next : null);
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

// ---- the ticket drawer ----------------------------------------------------------------------
// A card's title or comment count opens the ticket beside the board: its text, history,
// subtasks, sprints and comments, with the comment and edit forms posting in place. The link
// still opens the ticket page with a modifier key, and without JavaScript.

let drawer = null;
let opener = null;

function closeDrawer() {
  drawer?.remove();
  drawer = null;
  opener?.focus();
  opener = null;
}

async function loadDrawer(href) {
  const response = await fetch(href, { credentials: "same-origin", headers: { Accept: "text/html" } });
  if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const main = page.querySelector("main");
  main.querySelector(".crumbs")?.remove();
  const body = drawer.querySelector(".drawer-body");
  body.replaceChildren(...main.childNodes);
  // The board's live updates are not the drawer's.
  for (const region of body.querySelectorAll("[data-region]")) region.removeAttribute("data-region");
  // Posting from the drawer stays on the board; the drawer then shows the result.
  for (const form of body.querySelectorAll("form")) {
    if (form.dataset.stay === undefined) form.dataset.stay = "";
  }
  drawer.querySelector("#drawer-title").textContent = body.querySelector("h1")?.textContent?.trim() || "Ticket";
  body.querySelector(".page-head h1")?.remove();
}

async function openDrawer(link) {
  closeDrawer();
  opener = link;
  drawer = document.createElement("aside");
  drawer.className = "drawer";
  drawer.setAttribute("role", "dialog");
  drawer.setAttribute("aria-labelledby", "drawer-title");
  drawer.innerHTML = `<div class="drawer-head"><h2 id="drawer-title">Loading…</h2>
    <a class="button small secondary" href="">Open page</a>
    <button class="icon-button" type="button" data-close aria-label="Close the ticket">✕</button></div>
    <div class="drawer-body"><p class="muted">Loading…</p></div>`;
  drawer.querySelector("a").href = link.href;
  document.body.append(drawer);
  drawer.querySelector("[data-close]").focus();
  try {
    await loadDrawer(link.href);
  } catch (error) {
    drawer?.querySelector(".drawer-body").replaceChildren(Object.assign(document.createElement("p"), { className: "notice error", textContent: `Could not load the ticket: ${error.message}` }));
  }
}

document.addEventListener("click", (event) => {
  // (A Linear card's title opens the issue in Linear, not the drawer.)
  const link = event.target.closest?.(".card:not([data-issue]) a.card-title, .card a.badge.comments, .subtasks a");
  if (link && !(event.ctrlKey || event.metaKey || event.shiftKey || event.altKey || event.button !== 0)) {
    event.preventDefault();
    openDrawer(link);
    return;
  }
  if (event.target.closest?.(".drawer [data-close]")) closeDrawer();
});

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && drawer) closeDrawer();
});

document.addEventListener("ocd:submitted", (event) => {
  if (drawer && drawer.contains(event.detail) && opener) loadDrawer(opener.href).catch(() => {});
});
