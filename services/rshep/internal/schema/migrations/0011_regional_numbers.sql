-- Registration numbers name the region only ("27-2026-000035"), so they are counted per region and year:
-- two providers of one region (region 27 has the guardianship and the minors' property services) counted
-- apart and gave the same numbers, and АРМ's search by number found either case. The region's counter
-- continues after the highest number any of its providers gave.
CREATE TABLE region_counters (
    region text NOT NULL,
    year   integer NOT NULL,
    last   bigint NOT NULL,
    PRIMARY KEY (region, year)
);

INSERT INTO region_counters (region, year, last)
SELECT region, split_part(registration_number, '-', 2)::integer, max(split_part(registration_number, '-', 3)::bigint)
FROM cases
WHERE registration_number ~ '^[^-]+-[0-9]{4}-[0-9]+$'
GROUP BY region, split_part(registration_number, '-', 2);
