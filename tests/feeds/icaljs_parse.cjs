// Parse .ics files with Mozilla's ical.js (the parser of Thunderbird and many web calendars).
// Usage: node icaljs_parse.cjs <ical.js package dir> FILE...; prints one JSON object per file.
"use strict";
const fs = require("fs");
const path = require("path");
const ICAL = require(path.join(process.argv[2], "dist", "ical.es5.cjs"));

const out = [];
for (const file of process.argv.slice(3)) {
  const jcal = ICAL.parse(fs.readFileSync(file, "utf8"));
  const cal = new ICAL.Component(jcal);
  for (const zone of cal.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.register(zone);
  }
  const events = cal.getAllSubcomponents("vevent").map((vevent) => {
    const event = new ICAL.Event(vevent);
    const next = event.isRecurring() ? event.iterator().next() : event.startDate;
    return {
      uid: event.uid,
      summary: event.summary,
      start: event.startDate.toJSDate().toISOString(),
      first: next ? next.toJSDate().toISOString() : null,
      all_day: event.startDate.isDate,
      local: event.startDate.toString(),
      recurring: event.isRecurring(),
      url: vevent.getFirstPropertyValue("url"),
      status: vevent.getFirstPropertyValue("status"),
      alarms: vevent.getAllSubcomponents("valarm").length,
    };
  });
  out.push({
    file: path.basename(file),
    method: cal.getFirstPropertyValue("method"),
    refresh: String(cal.getFirstPropertyValue("refresh-interval") || ""),
    ttl: String(cal.getFirstPropertyValue("x-published-ttl") || ""),
    events,
  });
}
process.stdout.write(JSON.stringify(out));
