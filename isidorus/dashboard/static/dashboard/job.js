// A job's page, live while it runs: progress bars, rate, outcomes, top terms (an SVG
// chart), the image gallery and the pages with their summaries, searchable.
"use strict";

(() => {
  const {TERMINAL, api, el, clear, externalLink, snippet, stageText, setBar, localPath} = Isidorus;
  const jobId = document.getElementById("job").dataset.jobId;
  const base = `/api/v1/scrapings/${jobId}`;
  const $ = (id) => document.getElementById(id);
  let polls = 0;
  let finished = false;
  let pagesPath = `${base}/pages/?page_size=20&fields=id,url,title,outcome,reason,summary,summary_error`;
  let searching = false;

  function renderStatus(detail) {
    const status = $("job-status");
    status.textContent = detail.status;
    status.className = `status status-${detail.status.toLowerCase()}`;
    $("job-reason").textContent = detail.status_reason || "";
    setBar($("bar-pages"), detail.progress.pages);
    setBar($("bar-enrichment"), detail.progress.enrichment);
    $("bar-pages-text").textContent = stageText(detail.progress.pages);
    $("bar-enrichment-text").textContent = stageText(detail.progress.enrichment);
    $("job-rate").textContent = detail.pages_per_second === null ? "–" : detail.pages_per_second.toFixed(1);
    $("job-duration").textContent = detail.duration_seconds === null ? "–" : detail.duration_seconds.toFixed(1);
    $("job-cancel").hidden = TERMINAL.has(detail.status);
  }

  function outcomeRow(name, count, className) {
    return el("tr", {className, "data-outcome": name}, el("th", {text: name}), el("td", {className: "mono", text: count}));
  }

  function renderOutcomes(counters) {
    const body = $("outcomes-body");
    clear(body);
    body.append(outcomeRow("fetched", counters.fetched, "total"));
    for (const kind of ["failed", "skipped"]) {
      body.append(outcomeRow(kind, counters[kind], "total"));
      for (const [reason, count] of Object.entries(counters[`${kind}_by_reason`])) {
        body.append(outcomeRow(`${kind}: ${reason}`, count, "reason"));
      }
    }
    body.append(outcomeRow("links", counters.links, "total"));
    body.append(outcomeRow("images", counters.images, "total"));
    for (const [name, count] of Object.entries(counters.enrichment)) {
      if (count) body.append(outcomeRow(name.replaceAll("_", " "), count, "reason"));
    }
  }

  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  async function renderTerms() {
    const answer = await api(`${base}/terms/?limit=15`);
    if (!answer.ok) return;
    const terms = answer.data.results;
    const chart = $("terms-chart");
    clear(chart);
    if (!terms.length) { chart.append(el("p", {className: "muted", text: "No terms yet."})); return; }
    const row = 22, labelWidth = 140, barWidth = 260;
    const top = Math.max(...terms.map((term) => term.count));
    const drawing = svg("svg", {id: "terms-svg", width: labelWidth + barWidth + 60, height: row * terms.length, role: "img", "aria-label": "Top terms"});
    terms.forEach((term, index) => {
      const y = index * row;
      const width = Math.max(2, Math.round(barWidth * term.count / top));
      const group = svg("g", {class: "term", "data-term": term.term});
      group.append(svg("text", {x: labelWidth - 6, y: y + 15, "text-anchor": "end"}, term.term));
      group.append(svg("rect", {x: labelWidth, y: y + 3, width, height: row - 6, rx: 2}));
      group.append(svg("text", {x: labelWidth + width + 6, y: y + 15, class: "count"}, term.count));
      drawing.append(group);
    });
    chart.append(drawing);
  }

  let galleryNext = null;
  async function renderGallery(path, append) {
    const answer = await api(path || `${base}/images/?page_size=24`);
    if (!answer.ok) return;
    const gallery = $("gallery");
    if (!append) clear(gallery);
    for (const image of answer.data.results) {
      const figure = el("figure", {className: "image", "data-image-id": image.id});
      if (image.content_url) {
        figure.append(el("img", {src: localPath(image.content_url), alt: image.alt || "", loading: "lazy"}));
      } else {
        figure.append(el("div", {className: "placeholder", text: image.outcome ? `${image.outcome} ${image.reason}` : "not stored yet"}));
      }
      figure.append(el("figcaption", {},
        el("span", {className: "description", text: image.description || image.alt || ""}),
        el("br"), externalLink(image.url, "source")));
      gallery.append(figure);
    }
    if (!gallery.children.length) gallery.append(el("p", {className: "muted", text: "No images found."}));
    galleryNext = localPath(answer.data.next);
    $("gallery-more").hidden = !galleryNext;
  }

  function pageRow(title, url, outcome, summaryNode) {
    return el("tr", {className: "page-row"},
      el("td", {}, externalLink(url, title || url)),
      el("td", {text: outcome}),
      el("td", {className: "summary"}, summaryNode));
  }

  async function renderPages(path) {
    pagesPath = path || pagesPath;
    const answer = await api(pagesPath);
    if (!answer.ok) return;
    const body = $("pages-body");
    clear(body);
    for (const page of answer.data.results) {
      const outcome = page.reason ? `${page.outcome} (${page.reason})` : page.outcome;
      const summary = page.summary || (page.summary_error ? `no summary: ${page.summary_error}` : "");
      body.append(pageRow(page.title, page.url, outcome, document.createTextNode(summary)));
    }
    if (!answer.data.results.length) body.append(el("tr", {}, el("td", {colspan: 3, className: "muted", text: "No pages yet."})));
    const previous = localPath(answer.data.previous), next = localPath(answer.data.next);
    $("pages-prev").hidden = !previous;
    $("pages-next").hidden = !next;
    $("pages-prev").onclick = () => renderPages(previous);
    $("pages-next").onclick = () => renderPages(next);
  }

  async function search(query) {
    const answer = await api(`/api/v1/search/?scraping=${jobId}&page_size=20&q=${encodeURIComponent(query)}`);
    const body = $("pages-body");
    clear(body);
    $("pages-prev").hidden = $("pages-next").hidden = true;
    $("search-clear").hidden = false;
    if (!answer.ok) {
      const message = (answer.data && answer.data.error && answer.data.error.message) || "search failed";
      body.append(el("tr", {}, el("td", {colspan: 3, className: "error", text: message})));
      return;
    }
    for (const hit of answer.data.results) body.append(pageRow(hit.page.title, hit.page.url, "match", snippet(hit.snippet)));
    if (!answer.data.results.length) body.append(el("tr", {}, el("td", {colspan: 3, className: "muted", text: "No page matches."})));
  }

  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const query = $("search-q").value.trim();
    searching = Boolean(query);
    if (searching) search(query); else renderPages();
  });
  $("search-clear").addEventListener("click", () => {
    searching = false;
    $("search-q").value = "";
    $("search-clear").hidden = true;
    renderPages();
  });
  $("gallery-more").addEventListener("click", () => galleryNext && renderGallery(galleryNext, true));
  $("job-cancel").addEventListener("click", async () => {
    const answer = await api(`${base}/cancel/`, {method: "POST"});
    if (answer.ok) renderStatus(answer.data);
    poll();
  });

  async function poll() {
    const answer = await api(`${base}/`);
    if (!answer.ok) return;
    const detail = answer.data;
    renderStatus(detail);
    renderOutcomes(detail.counters);
    const done = TERMINAL.has(detail.status);
    if (polls % 3 === 0 || (done && !finished)) {
      await Promise.all([renderTerms(), renderGallery(), searching ? null : renderPages()]);
    }
    polls += 1;
    if (done) {
      finished = true;
      document.body.dataset.jobFinished = "true";
    }
  }

  async function loop() {
    await poll();
    if (!finished) window.setTimeout(loop, 1500);
  }
  loop();
})();
