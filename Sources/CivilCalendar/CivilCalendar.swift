/// CivilCalendar: proleptic Gregorian date arithmetic on day numbers, the one copy for every
/// module that formats or parses times without Foundation's `Calendar` (RFC 3339 in KubeModel,
/// cron and artifact names in BackstopCore, PostgreSQL timestamps in Postgres, API timestamps in
/// KubeSim). It sits at the bottom of the module graph and imports nothing, so each of those can
/// depend on it without depending on each other (Postgres imports neither KubeModel nor BackstopCore).
enum CivilCalendarModule {}
