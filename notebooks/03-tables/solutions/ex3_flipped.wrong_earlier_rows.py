# Wrong: the right questions, but the rows of the earlier frame (where they were still right).
def flipped_to_wrong(earlier: pd.DataFrame, later: pd.DataFrame) -> pd.DataFrame:
    wrong_now = set(later.loc[~later["correct"], "qid"])
    return earlier[earlier["qid"].isin(wrong_now) & earlier["correct"]]
