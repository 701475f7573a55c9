-- Reserved for the printer page helper's migration; a placeholder so later numbers load
-- on this branch. Dropped when the branches are merged.
SELECT 1;
