// The embeddable Camio viewer: a timeline of the Camio's events (GET /api/search with view_tokens)
// and a player (POST /api/content with the per-item access tokens the search handed out).
// No sign-in, no cookies sent, no third-party code.
(function () {
  "use strict";

  var root = document.getElementById("viewer");
  if (!root) return;
  var token = root.dataset.viewToken;
  var api = root.dataset.api;
  var PAGE = 24;
  var FRAME_MS = 500;

  var statusEl = document.getElementById("status");
  var timeline = document.getElementById("timeline");
  var moreBtn = document.getElementById("more");
  var player = document.getElementById("player");
  var frame = document.getElementById("frame");
  var video = document.getElementById("video");
  var playBtn = document.getElementById("play");
  var positionEl = document.getElementById("position");
  var captionEl = document.getElementById("caption");
  var closeBtn = document.getElementById("close");

  // Search answers image events and video events separately (content_type): one paging cursor
  // each (the earliest date its last page considered), merged into one timeline. The timeline
  // shows the merged events only down to the newer of the two cursors: below it, one stream may
  // still hold events not yet loaded, and showing the other's older ones would hide that gap.
  var streams = [
    { kind: "image", next: null, more: true },
    { kind: "video", next: null, more: true }
  ];
  var buckets = new Map();
  var seq = { frames: [], index: 0, timer: null };

  function setStatus(text, isError) {
    statusEl.textContent = text;
    statusEl.classList.toggle("error", !!isError);
  }

  // "2014-02-21T04:12:38.911-0000" -> Date (the offset needs a colon for every engine).
  function parseDate(value) {
    return new Date(String(value).replace(/([+-]\d\d)(\d\d)$/, "$1:$2"));
  }

  function ApiProblem(status, message) {
    this.status = status;
    this.message = message || "HTTP " + status;
  }

  function callApi(path, options) {
    options = options || {};
    options.credentials = "omit";
    options.headers = Object.assign({ Accept: "application/json" }, options.headers || {});
    return fetch(api + path, options).then(function (resp) {
      return resp.json().then(
        function (body) { if (!resp.ok) throw new ApiProblem(resp.status, body && body.message); return body; },
        function () { throw new ApiProblem(resp.status, "unreadable answer"); }
      );
    });
  }

  function searchPage(stream) {
    var params = new URLSearchParams({
      view_tokens: token,
      object_type: "events",
      content_type: stream.kind,
      sort: "desc",
      motion_type: "all",
      num_results: String(PAGE),
      fetch_cover_thumbnails: "true",
      fetch_access_tokens: "true",
      w: "240",
      h: "180"
    });
    if (stream.next) params.set("date", stream.next);
    return callApi("/search?" + params.toString()).then(function (answer) {
      // The reference puts the paging fields inside "result", next to the buckets.
      var result = answer.result || {};
      (result.buckets || []).forEach(function (b) {
        var seen = buckets.get(b.bucket_id);
        if (!seen) { b.kind = stream.kind; buckets.set(b.bucket_id, b); return; }
        // An image event that a video backs comes in both streams: one entry, with its stills
        // and its video (which then plays); it stays an image event.
        var ids = new Set((seen.images || []).map(function (im) { return im.id; }));
        seen.images = (seen.images || []).concat((b.images || []).filter(function (im) { return !ids.has(im.id); }));
        if (stream.kind === "image") seen.kind = "image";
      });
      stream.next = result.earliest_date_considered || null;
      stream.more = !!(result.more_results && stream.next);
    });
  }

  function fetchItems(images, resize) {
    var body = images.map(function (im) { return { id: im.id, access_token: im.access_token }; });
    var query = resize ? "?resize=true&w=640&h=480" : "";
    return callApi("/content" + query, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    });
  }

  function coverOf(bucket) {
    var images = bucket.images || [];
    for (var i = 0; i < images.length; i++) {
      if (images[i].id === bucket.cover_image_id && images[i].image_bytes) return images[i].image_bytes;
    }
    for (var j = 0; j < images.length; j++) if (images[j].image_bytes) return images[j].image_bytes;
    return null;
  }

  // The date above which every event is loaded: the newest cursor of the streams with more
  // pages (null when none has: everything is loaded).
  function loadedDownTo() {
    var floor = null;
    streams.forEach(function (st) {
      if (!st.more || !st.next) return;
      var next = parseDate(st.next);
      if (floor === null || next > floor) floor = next;
    });
    return floor;
  }

  // The streams to page on: those not started yet and those whose cursor holds the timeline back
  // (paging the other would only load events kept out of sight).
  function streamsToLoad() {
    var floor = loadedDownTo();
    return streams.filter(function (st) {
      return st.more && (!st.next || floor === null || parseDate(st.next) >= floor);
    });
  }

  // Renders the events shown; returns how many.
  function render() {
    var floor = loadedDownTo();
    var shown = Array.from(buckets.values()).filter(function (bucket) {
      return floor === null || parseDate(bucket.earliest_date) >= floor;
    });
    shown.sort(function (a, b) { return parseDate(b.earliest_date) - parseDate(a.earliest_date); });
    timeline.textContent = "";
    var lastDay = null;
    shown.forEach(function (bucket) { lastDay = renderEvent(bucket, lastDay); });
    return shown.length;
  }

  function renderEvent(bucket, lastDay) {
    var when = parseDate(bucket.earliest_date);
    var day = when.toLocaleDateString();
    if (day !== lastDay) {
      var dayItem = document.createElement("li");
      dayItem.className = "day";
      dayItem.textContent = day;
      timeline.appendChild(dayItem);
      lastDay = day;
    }
    var li = document.createElement("li");
    li.dataset.eventId = bucket.bucket_id;
    li.dataset.kind = bucket.kind;
    var btn = document.createElement("button");
    btn.type = "button";
    btn.className = "event";
    var img = document.createElement("img");
    img.alt = (bucket.source || "camera") + " at " + when.toLocaleTimeString();
    var cover = coverOf(bucket);
    if (cover) img.src = "data:image/jpeg;base64," + cover;
    var meta = document.createElement("div");
    meta.className = "meta";
    var title = document.createElement("div");
    title.textContent = when.toLocaleTimeString() + " · " + (bucket.source || "");
    var labels = document.createElement("div");
    labels.className = "labels";
    labels.textContent = (bucket.labels || []).join(", ");
    meta.appendChild(title);
    meta.appendChild(labels);
    btn.appendChild(img);
    btn.appendChild(meta);
    btn.addEventListener("click", function () { openEvent(bucket, when); });
    li.appendChild(btn);
    timeline.appendChild(li);
    return lastDay;
  }

  function loadPage() {
    moreBtn.disabled = true;
    setStatus("Loading events…");
    return Promise.all(streamsToLoad().map(searchPage)).then(function () {
      var shown = render();
      var more = streams.some(function (st) { return st.more; });
      moreBtn.hidden = !more;
      moreBtn.disabled = false;
      setStatus(shown ? shown + " events" : more ? "" : "No events in this Camio yet.");
      root.dataset.state = "loaded";
    }, function (problem) {
      moreBtn.hidden = true;
      if (problem instanceof ApiProblem && [401, 403, 404].indexOf(problem.status) >= 0) {
        setStatus("This Camio link is invalid, has expired or was revoked.", true);
      } else {
        setStatus("Could not load events: " + (problem.message || problem), true);
      }
      root.dataset.state = "error";
    });
  }

  function stopSequence() {
    if (seq.timer) clearInterval(seq.timer);
    seq.timer = null;
    playBtn.textContent = "Play";
    player.dataset.state = "paused";
  }

  function showFrame(index) {
    seq.index = index % seq.frames.length;
    frame.src = seq.frames[seq.index];
    positionEl.textContent = (seq.index + 1) + " / " + seq.frames.length;
  }

  function startSequence() {
    if (seq.frames.length < 2) { stopSequence(); return; }
    stopSequence();
    seq.timer = setInterval(function () { showFrame(seq.index + 1); }, FRAME_MS);
    playBtn.textContent = "Pause";
    player.dataset.state = "playing";
  }

  function openEvent(bucket, when) {
    stopSequence();
    video.pause();
    player.hidden = false;
    player.dataset.eventId = bucket.bucket_id;
    player.dataset.state = "loading";
    captionEl.textContent = (bucket.source || "") + " · " + when.toLocaleString();
    var images = (bucket.images || []).filter(function (im) { return im.access_token; });
    if (!images.length) {
      captionEl.textContent = "This event has no viewable items.";
      player.dataset.state = "error";
      return;
    }
    var clips = images.filter(function (im) { return /^video\//.test(im.content_type || ""); });
    if (clips.length) {
      fetchItems(clips, false).then(function (items) {
        if (!items.length) throw new ApiProblem(404, "the video is no longer available");
        frame.hidden = true;
        video.hidden = false;
        playBtn.hidden = true;
        playClip(items, 0);
      }).catch(showPlayerProblem);
      return;
    }
    fetchItems(images.slice(0, 100), true).then(function (items) {
      seq.frames = items.filter(function (it) { return it.image_bytes; })
        .map(function (it) { return "data:image/jpeg;base64," + it.image_bytes; });
      if (!seq.frames.length) throw new ApiProblem(404, "the images are no longer available");
      video.hidden = true;
      video.removeAttribute("src");
      frame.hidden = false;
      playBtn.hidden = false;
      showFrame(0);
      startSequence();
      if (seq.frames.length < 2) player.dataset.state = "playing";
    }).catch(showPlayerProblem);
  }

  // The event's clips one after another.
  function playClip(items, index) {
    positionEl.textContent = items.length > 1 ? (index + 1) + " / " + items.length : "";
    video.onended = index + 1 < items.length ? function () { playClip(items, index + 1); } : null;
    video.src = items[index].url;
    player.dataset.state = "playing";
    var playing = video.play();
    if (playing && playing.catch) playing.catch(function () { player.dataset.state = "paused"; });
  }

  function showPlayerProblem(problem) {
    captionEl.textContent = "Cannot play this event: " + (problem.message || problem);
    player.dataset.state = "error";
  }

  playBtn.addEventListener("click", function () {
    if (seq.timer) stopSequence(); else startSequence();
  });
  closeBtn.addEventListener("click", function () {
    stopSequence();
    video.pause();
    player.hidden = true;
  });
  moreBtn.addEventListener("click", loadPage);

  loadPage();
})();
