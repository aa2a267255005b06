# Wrong: the opposite flip, wrong at the earlier epoch and right at the later one.
def flipped_to_wrong(earlier: pd.DataFrame, later: pd.DataFrame) -> pd.DataFrame:
    was_wrong = set(earlier.loc[~earlier["correct"], "qid"])
    return later[later["qid"].isin(was_wrong) & later["correct"]]
