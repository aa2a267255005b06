def flipped_to_wrong(earlier: pd.DataFrame, later: pd.DataFrame) -> pd.DataFrame:
    was_right = set(earlier.loc[earlier["correct"], "qid"])
    return later[later["qid"].isin(was_right) & ~later["correct"]]
