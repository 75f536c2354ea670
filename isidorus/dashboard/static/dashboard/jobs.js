// The jobs page: the start form (the API's validation, errors beside their fields) and
// the job list with live progress.
"use strict";

(() => {
  const {TERMINAL, api, el, clear, statusBadge, stageText, localPath} = Isidorus;
  const body = document.getElementById("jobs-body");
  const more = document.getElementById("jobs-more");
  const form = document.getElementById("start-form");
  const details = new Map();  // job id -> its last detail (kept once terminal)
  let jobs = [];
  let older = [];  // jobs loaded with "Older jobs", below the first page
  let nextPage = null;

  function lines(text) {
    return text.split("\n").map((line) => line.trim()).filter((line) => line);
  }

  function showErrors(fields, message) {
    for (const slot of form.querySelectorAll("[data-error-for]")) slot.textContent = "";
    let placed = false;
    for (const [name, problems] of Object.entries(fields || {})) {
      const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
      const text = Array.isArray(problems) ? problems.join(" ") : JSON.stringify(problems);
      if (slot) { slot.textContent = text; placed = true; }
    }
    if (!placed && message) document.getElementById("start-error").textContent = message;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showErrors({}, "");  // this attempt's answer replaces the last one's errors
    const data = new FormData(form);
    const request = {
      url: data.get("url").trim(),
      depth: Number(data.get("depth")),
      max_pages: Number(data.get("max_pages")),
      scope: data.get("scope"),
      sitemap: data.get("sitemap"),
      include: lines(data.get("include")),
      exclude: lines(data.get("exclude")),
      respect_robots: data.get("respect_robots") === "on",
      summarize: data.get("summarize") === "on",
      describe_images: data.get("describe_images") === "on",
    };
    const answer = await api("/api/v1/scrapings/", {method: "POST", body: request});
    if (answer.ok) {
      window.location.assign(`/dashboard/jobs/${answer.data.id}/`);
      return;
    }
    const error = (answer.data && answer.data.error) || {};
    showErrors(error.fields, error.message || `the API answered ${answer.status}`);
  });

  function progressCell(detail, stage) {
    return el("td", {className: "mono", text: detail ? stageText(detail.progress[stage]) : "…"});
  }

  function render() {
    clear(body);
    if (!jobs.length) {
      body.append(el("tr", {}, el("td", {colspan: 5, className: "muted", text: "No jobs yet: start one above."})));
      return;
    }
    for (const job of jobs) {
      const detail = details.get(job.id);
      const status = detail ? detail.status : job.status;
      body.append(el("tr", {"data-job-id": job.id},
        el("td", {}, statusBadge(status)),
        el("td", {}, el("a", {href: `/dashboard/jobs/${job.id}/`, text: job.url, className: "job-link"})),
        progressCell(detail, "pages"),
        progressCell(detail, "enrichment"),
        el("td", {text: new Date(job.created_at).toLocaleString()}),
      ));
    }
  }

  async function refresh() {
    const answer = await api("/api/v1/scrapings/?page_size=20");
    if (!answer.ok) return;
    const fresh = new Set(answer.data.results.map((job) => job.id));
    jobs = [...answer.data.results, ...older.filter((job) => !fresh.has(job.id))];
    if (!older.length) nextPage = localPath(answer.data.next);
    more.hidden = !nextPage;
    await Promise.all(jobs.map(async (job) => {
      const known = details.get(job.id);
      if (known && TERMINAL.has(known.status)) return;
      const detail = await api(`/api/v1/scrapings/${job.id}/`);
      if (detail.ok) details.set(job.id, detail.data);
    }));
    render();
  }

  more.addEventListener("click", async () => {
    if (!nextPage) return;
    const answer = await api(nextPage);
    if (!answer.ok) return;
    older = [...older, ...answer.data.results];
    nextPage = localPath(answer.data.next);
    more.hidden = !nextPage;
    await refresh();
  });

  refresh();
  window.setInterval(refresh, 3000);
})();
